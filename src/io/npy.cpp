#include "io/npy.h"

#include <cctype>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "io/tensor_view.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/mapped_file.h"

namespace remedi::io {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;
};

// The header is the repr() of a Python dict: {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded with spaces and a newline. This parses exactly that subset.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& name) : text_(text), name_(name) {}

  Header parse() {
    Header header;
    bool seen_descr = false;
    bool seen_order = false;
    bool seen_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = parse_string("key");
      expect(':');
      if (key == "descr") {
        header.descr = parse_string("descr");
        seen_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        header.shape = parse_shape();
        seen_shape = true;
      } else {
        throw Error(name_, "header", "unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    if (!seen_descr) throw Error(name_, "descr", "missing from the header");
    if (!seen_order) throw Error(name_, "fortran_order", "missing from the header");
    if (!seen_shape) throw Error(name_, "shape", "missing from the header");
    skip_space();
    if (pos_ != text_.size()) throw Error(name_, "header", "unexpected text after the dictionary");
    return header;
  }

 private:
  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) ++pos_;
  }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c))
      throw Error(name_, "header", std::string("expected '") + c + "' at byte " + std::to_string(pos_));
  }

  std::string parse_string(const std::string& what) {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      throw Error(name_, what, "expected a quoted string");
    }
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) throw Error(name_, what, "unterminated string");
    std::string value(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return value;
  }

  bool parse_bool() {
    skip_space();
    for (const auto& [word, value] : {std::pair{std::string_view("True"), true}, {"False", false}}) {
      if (text_.substr(pos_, word.size()) == word) {
        pos_ += word.size();
        return value;
      }
    }
    throw Error(name_, "fortran_order", "expected True or False");
  }

  std::vector<std::int64_t> parse_shape() {
    std::vector<std::int64_t> shape;
    expect('(');
    while (!accept(')')) {
      skip_space();
      std::int64_t dim = 0;
      const std::size_t start = pos_;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_])) != 0) {
        const int digit = text_[pos_++] - '0';
        if (dim > (std::numeric_limits<std::int64_t>::max() - digit) / 10) {
          throw Error(name_, "shape", "dimension too large");
        }
        dim = dim * 10 + digit;
      }
      if (pos_ == start) throw Error(name_, "shape", "expected a tuple of non-negative integers");
      shape.push_back(dim);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return shape;
  }

  std::string_view text_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

std::optional<DType> dtype_from_descr(const std::string& descr) {
  if (descr == "<f4") return DType::F32;
  if (descr == "<f8") return DType::F64;
  if (descr == "<f2") return DType::F16;
  return std::nullopt;
}

std::string shape_tuple(const std::vector<std::int64_t>& shape) {
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return text + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& name) {
  const auto* chars = reinterpret_cast<const char*>(bytes.data());
  if (bytes.size() < kMagic.size() + 2 || std::string_view(chars, kMagic.size()) != kMagic) {
    throw Error(name, "magic", "not a .npy file (missing the \\x93NUMPY prefix)");
  }
  const auto major = std::to_integer<int>(bytes[6]);
  const auto minor = std::to_integer<int>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    throw Error(name, "version",
                "unsupported .npy version " + std::to_string(major) + "." + std::to_string(minor));
  }
  // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 (UTF-8 header) in 4.
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = kMagic.size() + 2 + length_bytes;
  if (bytes.size() < prefix) throw Error(name, "header", "truncated before the header length");
  std::uint32_t header_length = 0;
  for (std::size_t i = 0; i < length_bytes; ++i) {
    header_length |= std::to_integer<std::uint32_t>(bytes[kMagic.size() + 2 + i]) << (8 * i);
  }
  if (header_length > bytes.size() - prefix) {
    throw Error(name, "header",
                "header length " + std::to_string(header_length) + " runs past the end of the file (" +
                    std::to_string(bytes.size()) + " bytes)");
  }
  const Header header = HeaderParser(std::string_view(chars + prefix, header_length), name).parse();

  const auto dtype = dtype_from_descr(header.descr);
  if (!dtype) {
    throw Error(name, "descr", "unsupported dtype '" + header.descr + "' (supported: '<f2', '<f4', '<f8')");
  }
  if (header.fortran_order) throw Error(name, "fortran_order", "Fortran-order arrays are not supported");
  std::int64_t numel = 1;
  for (const std::int64_t dim : header.shape) {
    if (dim != 0 && numel > std::numeric_limits<std::int64_t>::max() / dim) {
      throw Error(name, "shape", "element count overflows");
    }
    numel *= dim;
  }
  const std::size_t data_size = bytes.size() - prefix - header_length;
  const auto needed = dtype_storage_bytes(*dtype, numel);
  if (!needed || *needed != data_size) {
    throw Error(name, "shape",
                shape_tuple(header.shape) + " of '" + header.descr + "' needs " +
                    (needed ? std::to_string(*needed) : std::string("more than 2^64")) +
                    " bytes, file holds " + std::to_string(data_size));
  }

  NpyArray array;
  array.shape = header.shape;
  array.values.resize(static_cast<std::size_t>(numel));
  const TensorView view{name, *dtype, header.shape, bytes.subspan(prefix + header_length)};
  to_f32(view, array.values, name);
  return array;
}

NpyArray read_npy(const std::string& path) {
  const MappedFile file(path);
  return parse_npy(file.bytes(), path);
}

void write_npy(const std::string& path, const std::vector<std::int64_t>& shape,
               std::span<const float> values) {
  std::int64_t numel = 1;
  for (const std::int64_t dim : shape) {
    if (dim < 0) throw Error(path, "shape", "negative dimension in " + shape_tuple(shape));
    numel *= dim;
  }
  if (static_cast<std::size_t>(numel) != values.size()) {
    throw Error(path, "shape",
                shape_tuple(shape) + " needs " + std::to_string(numel) + " values, got " +
                    std::to_string(values.size()));
  }
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // Pad so the data starts on a 64-byte boundary, as numpy does; the header ends with a newline.
  const std::size_t prefix = kMagic.size() + 2 + 2;
  header.append(63 - (prefix + header.size()) % 64, ' ');
  header += '\n';
  if (header.size() > std::numeric_limits<std::uint16_t>::max()) {
    throw Error(path, "shape", "too many dimensions for a version 1.0 header");
  }
  std::string preamble(kMagic);
  preamble += '\x01';
  preamble += '\x00';
  preamble += static_cast<char>(header.size() & 0xFF);
  preamble += static_cast<char>(header.size() >> 8);

  AtomicOutputFile out(path);
  out.write(preamble);
  out.write(header);
  out.write(std::as_bytes(values));
  out.commit();
}

}  // namespace remedi::io
