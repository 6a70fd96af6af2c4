#include "png_test_support.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>

namespace remedi::test {

namespace {

constexpr std::array<std::uint8_t, 8> kSignature{137, 80, 78, 71, 13, 10, 26, 10};

std::uint32_t read_u32(const std::string& bytes, std::size_t at) {
  if (at + 4 > bytes.size()) throw std::runtime_error("png: truncated at byte " + std::to_string(at));
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[at + i]);
  return value;
}

void append_u32(std::string& out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((value >> shift) & 0xFF);
}

std::uint32_t crc_of(const std::string& type_and_data) {
  return static_cast<std::uint32_t>(::crc32(0L, reinterpret_cast<const Bytef*>(type_and_data.data()),
                                            static_cast<uInt>(type_and_data.size())));
}

// The predictor of filter type 4 (PNG spec 9.4): whichever neighbour is closest to a + b - c.
int paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a);
  const int pb = std::abs(p - b);
  const int pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

// The byte a filter adds back (decoding) or subtracts (encoding): a = left, b = up, c = up-left.
int predictor(int filter, int a, int b, int c) {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) / 2;
    case 4:
      return paeth(a, b, c);
    default:
      throw std::runtime_error("png: unknown filter type " + std::to_string(filter));
  }
}

}  // namespace

PngImage decode_png(const std::string& bytes) {
  if (bytes.size() < kSignature.size() ||
      !std::equal(kSignature.begin(), kSignature.end(), bytes.begin(),
                  [](std::uint8_t s, char b) { return s == static_cast<std::uint8_t>(b); }))
    throw std::runtime_error("png: bad signature");
  PngImage image;
  int bit_depth = 0;
  int interlace = 0;
  std::string compressed;
  bool ended = false;
  for (std::size_t at = kSignature.size(); !ended;) {
    const std::uint32_t length = read_u32(bytes, at);
    if (at + 12 + static_cast<std::size_t>(length) > bytes.size())
      throw std::runtime_error("png: chunk at byte " + std::to_string(at) + " runs past the end");
    const std::string type = bytes.substr(at + 4, 4);
    const std::string data = bytes.substr(at + 8, length);
    if (read_u32(bytes, at + 8 + length) != crc_of(type + data))
      throw std::runtime_error("png: CRC mismatch in chunk " + type);
    if (type == "IHDR") {
      if (length != 13) throw std::runtime_error("png: IHDR has " + std::to_string(length) + " bytes");
      image.width = read_u32(data, 0);
      image.height = read_u32(data, 4);
      bit_depth = static_cast<std::uint8_t>(data[8]);
      image.color_type = static_cast<std::uint8_t>(data[9]);
      interlace = static_cast<std::uint8_t>(data[12]);
    } else if (type == "PLTE") {
      image.palette.assign(data.begin(), data.end());
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      ended = true;
    }
    at += 12 + static_cast<std::size_t>(length);
  }
  if (image.width == 0 || image.height == 0) throw std::runtime_error("png: no IHDR or an empty image");
  if (bit_depth != 8)
    throw std::runtime_error("png: bit depth " + std::to_string(bit_depth) + " unsupported");
  if (interlace != 0) throw std::runtime_error("png: interlaced images unsupported");
  switch (image.color_type) {
    case 0:
    case 3:
      image.channels = 1;
      break;
    case 4:
      image.channels = 2;
      break;
    case 2:
      image.channels = 3;
      break;
    case 6:
      image.channels = 4;
      break;
    default:
      throw std::runtime_error("png: color type " + std::to_string(image.color_type) + " unknown");
  }
  if (image.color_type == 3 && image.palette.empty())
    throw std::runtime_error("png: palette image without PLTE");

  // Inflate: every row is one filter byte and then its samples.
  const std::size_t stride = image.width * image.channels;
  std::vector<std::uint8_t> raw(image.height * (stride + 1));
  uLongf raw_size = static_cast<uLongf>(raw.size());
  const int status = ::uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()),
                                  static_cast<uLong>(compressed.size()));
  if (status != Z_OK) throw std::runtime_error("png: zlib error " + std::to_string(status));
  if (raw_size != raw.size())
    throw std::runtime_error("png: image data has " + std::to_string(raw_size) + " bytes, expected " +
                             std::to_string(raw.size()));

  // Unfilter row by row; the row above the first is zeros.
  image.samples.assign(image.height * stride, 0);
  const std::size_t bpp = image.channels;  // bytes per pixel at bit depth 8
  for (std::size_t y = 0; y < image.height; ++y) {
    const int filter = raw[y * (stride + 1)];
    const std::uint8_t* in = raw.data() + y * (stride + 1) + 1;
    std::uint8_t* out = image.samples.data() + y * stride;
    const std::uint8_t* up = y > 0 ? out - stride : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? out[i - bpp] : 0;
      const int b = up != nullptr ? up[i] : 0;
      const int c = (up != nullptr && i >= bpp) ? up[i - bpp] : 0;
      out[i] = static_cast<std::uint8_t>((in[i] + predictor(filter, a, b, c)) & 0xFF);
    }
  }
  return image;
}

Rgb pixel(const PngImage& image, std::size_t x, std::size_t y) {
  const std::uint8_t* p = image.samples.data() + (y * image.width + x) * image.channels;
  int r = 0;
  int g = 0;
  int b = 0;
  int alpha = 255;
  switch (image.color_type) {
    case 0:
      r = g = b = p[0];
      break;
    case 4:
      r = g = b = p[0];
      alpha = p[1];
      break;
    case 3: {
      const std::size_t index = static_cast<std::size_t>(p[0]) * 3;
      if (index + 2 >= image.palette.size()) throw std::runtime_error("png: palette index out of range");
      r = image.palette[index];
      g = image.palette[index + 1];
      b = image.palette[index + 2];
      break;
    }
    case 2:
      r = p[0];
      g = p[1];
      b = p[2];
      break;
    default:
      r = p[0];
      g = p[1];
      b = p[2];
      alpha = p[3];
  }
  const auto over_white = [alpha](int v) { return (v * alpha + 255 * (255 - alpha)) / 255; };
  return {over_white(r), over_white(g), over_white(b)};
}

double non_white_fraction(const PngImage& image, int threshold) {
  std::size_t count = 0;
  for (std::size_t y = 0; y < image.height; ++y) {
    for (std::size_t x = 0; x < image.width; ++x) {
      const Rgb c = pixel(image, x, y);
      if (c.r < threshold || c.g < threshold || c.b < threshold) ++count;
    }
  }
  return static_cast<double>(count) / static_cast<double>(image.width * image.height);
}

double colored_fraction(const PngImage& image, int spread) {
  std::size_t count = 0;
  for (std::size_t y = 0; y < image.height; ++y) {
    for (std::size_t x = 0; x < image.width; ++x) {
      const Rgb c = pixel(image, x, y);
      if (std::max({c.r, c.g, c.b}) - std::min({c.r, c.g, c.b}) > spread) ++count;
    }
  }
  return static_cast<double>(count) / static_cast<double>(image.width * image.height);
}

std::string encode_png_rgb(std::size_t width, std::size_t height, const std::vector<std::uint8_t>& rgb) {
  const std::size_t stride = width * 3;
  if (rgb.size() != stride * height) throw std::runtime_error("png: pixel count does not match the size");
  std::vector<std::uint8_t> raw;
  for (std::size_t y = 0; y < height; ++y) {
    const int filter = static_cast<int>(y % 5);
    raw.push_back(static_cast<std::uint8_t>(filter));
    const std::uint8_t* row = rgb.data() + y * stride;
    const std::uint8_t* up = y > 0 ? row - stride : nullptr;
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= 3 ? row[i - 3] : 0;
      const int b = up != nullptr ? up[i] : 0;
      const int c = (up != nullptr && i >= 3) ? up[i - 3] : 0;
      raw.push_back(static_cast<std::uint8_t>((row[i] - predictor(filter, a, b, c)) & 0xFF));
    }
  }
  std::vector<std::uint8_t> packed(::compressBound(static_cast<uLong>(raw.size())));
  uLongf packed_size = static_cast<uLongf>(packed.size());
  if (::compress(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size())) != Z_OK)
    throw std::runtime_error("png: zlib compress failed");
  std::string out(kSignature.begin(), kSignature.end());
  const auto chunk = [&out](const std::string& type, const std::string& data) {
    append_u32(out, static_cast<std::uint32_t>(data.size()));
    out += type + data;
    append_u32(out, crc_of(type + data));
  };
  std::string header;
  append_u32(header, static_cast<std::uint32_t>(width));
  append_u32(header, static_cast<std::uint32_t>(height));
  header += std::string{8, 2, 0, 0, 0};  // bit depth 8, RGB, deflate, adaptive filters, not interlaced
  chunk("IHDR", header);
  chunk("IDAT", std::string(packed.begin(), packed.begin() + static_cast<std::ptrdiff_t>(packed_size)));
  chunk("IEND", "");
  return out;
}

}  // namespace remedi::test
