#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "util/atomic_file.h"
#include "util/error.h"
#include "util/read_file.h"

namespace remedi::io {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t kHeaderLengthBytes = 8;
constexpr std::string_view kMetadataKey = "__metadata__";
// A well-formed header is three levels deep ({name: {shape: [dim]}}); anything much deeper is
// hostile and would only cost stack and memory to build.
constexpr int kMaxJsonDepth = 8;

// Parses the header, rejecting duplicate top-level names (which JSON parsers otherwise resolve
// silently by keeping one) and absurd nesting.
json parse_header(std::string_view text, const std::string& path) {
  std::set<std::string> names;
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth)
      throw Error(path, "header", "JSON nested deeper than " + std::to_string(kMaxJsonDepth));
    if (event == json::parse_event_t::key && depth == 1 && !names.insert(parsed.get<std::string>()).second) {
      throw Error(path, parsed.get<std::string>(), "duplicate tensor name");
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::exception& e) {
    throw Error(path, "header", std::string("malformed JSON: ") + e.what());
  }
}

bool is_count(const json& value) { return value.is_number_unsigned(); }

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

struct Entry {
  TensorView view;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

Entry parse_entry(const std::string& name, const json& spec, std::uint64_t buffer_size,
                  const std::string& path) {
  if (!spec.is_object())
    throw Error(path, name, "entry must be an object with dtype, shape and data_offsets");
  Entry entry;
  entry.view.name = name;

  const auto dtype_it = spec.find("dtype");
  if (dtype_it == spec.end() || !dtype_it->is_string()) throw Error(path, name, "dtype must be a string");
  const auto dtype = dtype_from_name(dtype_it->get<std::string>());
  if (!dtype || dtype_is_quantized(*dtype)) {
    throw Error(path, name, "unknown dtype '" + dtype_it->get<std::string>() + "'");
  }
  entry.view.dtype = *dtype;

  const auto shape_it = spec.find("shape");
  if (shape_it == spec.end() || !shape_it->is_array() ||
      !std::all_of(shape_it->begin(), shape_it->end(), is_count)) {
    throw Error(path, name, "shape must be an array of non-negative integers");
  }
  std::uint64_t numel = 1;
  for (const auto& dim : *shape_it) {
    const auto size = dim.get<std::uint64_t>();
    const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (size != 0 && numel > limit / size) throw Error(path, name, "element count overflows");
    numel *= size;
    entry.view.shape.push_back(static_cast<std::int64_t>(size));
  }

  const auto offsets_it = spec.find("data_offsets");
  if (offsets_it == spec.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
      !is_count((*offsets_it)[0]) || !is_count((*offsets_it)[1])) {
    throw Error(path, name, "data_offsets must be [begin, end] with non-negative integers");
  }
  entry.begin = (*offsets_it)[0].get<std::uint64_t>();
  entry.end = (*offsets_it)[1].get<std::uint64_t>();
  if (entry.begin > entry.end) {
    throw Error(
        path, name,
        "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) + "] are reversed");
  }
  if (entry.end > buffer_size) {
    throw Error(path, name,
                "data_offsets [" + std::to_string(entry.begin) + ", " + std::to_string(entry.end) +
                    "] run past the end of the data buffer (" + std::to_string(buffer_size) + " bytes)");
  }
  const auto needed = dtype_storage_bytes(*dtype, static_cast<std::int64_t>(numel));
  if (!needed || *needed != entry.end - entry.begin) {
    throw Error(path, name,
                "data_offsets span " + std::to_string(entry.end - entry.begin) + " bytes, shape " +
                    shape_text(entry.view.shape) + " of " + std::string(dtype_name(*dtype)) + " needs " +
                    (needed ? std::to_string(*needed) : std::string("more than 2^64")));
  }
  return entry;
}

std::map<std::string, std::string> parse_metadata(const json& metadata, const std::string& path) {
  if (!metadata.is_object()) throw Error(path, std::string(kMetadataKey), "must be an object of strings");
  std::map<std::string, std::string> result;
  for (const auto& [key, value] : metadata.items()) {
    if (!value.is_string())
      throw Error(path, std::string(kMetadataKey) + "." + key, "value must be a string");
    result.emplace(key, value.get<std::string>());
  }
  return result;
}

}  // namespace

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile file{MappedFile(path)};
  const std::span<const std::byte> bytes = file.file_.bytes();
  if (bytes.size() < kHeaderLengthBytes) {
    throw Error(
        path, "header",
        "truncated: file has " + std::to_string(bytes.size()) + " bytes, the header length alone needs 8");
  }
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), sizeof header_length);
  if (header_length > bytes.size() - kHeaderLengthBytes) {
    throw Error(path, "header",
                "header length " + std::to_string(header_length) + " runs past the end of the file (" +
                    std::to_string(bytes.size()) + " bytes)");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(bytes.data() + kHeaderLengthBytes),
                                     static_cast<std::size_t>(header_length));
  const json header = parse_header(header_text, path);
  if (!header.is_object()) throw Error(path, "header", "must be a JSON object");

  const std::uint64_t data_start = kHeaderLengthBytes + header_length;
  const std::uint64_t buffer_size = bytes.size() - data_start;
  std::vector<Entry> entries;
  for (const auto& [name, spec] : header.items()) {
    if (name == kMetadataKey) {
      file.metadata_ = parse_metadata(spec, path);
      continue;
    }
    entries.push_back(parse_entry(name, spec, buffer_size, path));
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  // Empty tensors occupy no bytes and cannot overlap anything.
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    if (entry.begin == entry.end) continue;
    if (previous != nullptr && entry.begin < previous->end) {
      throw Error(path, entry.view.name, "data overlaps tensor '" + previous->view.name + "'");
    }
    previous = &entry;
  }

  file.tensors_.reserve(entries.size());
  for (auto& entry : entries) {
    entry.view.bytes = bytes.subspan(static_cast<std::size_t>(data_start + entry.begin),
                                     static_cast<std::size_t>(entry.end - entry.begin));
    file.index_.emplace(entry.view.name, file.tensors_.size());
    file.tensors_.push_back(std::move(entry.view));
  }
  return file;
}

const TensorView* SafetensorsFile::find_tensor(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& SafetensorsFile::tensor(const std::string& name) const {
  if (const TensorView* view = find_tensor(name)) return *view;
  throw Error(path(), name, "no such tensor");
}

SafetensorsCheckpoint SafetensorsCheckpoint::open(const std::string& path) {
  SafetensorsCheckpoint checkpoint;
  checkpoint.path_ = path;
  std::string index_path;
  std::vector<std::string> shard_paths;
  if (fs::is_directory(path)) {
    const fs::path folder(path);
    if (fs::exists(folder / "model.safetensors.index.json")) {
      index_path = (folder / "model.safetensors.index.json").string();
    } else if (fs::exists(folder / "model.safetensors")) {
      shard_paths.push_back((folder / "model.safetensors").string());
    } else {
      throw Error(path, "", "holds neither model.safetensors nor model.safetensors.index.json");
    }
  } else if (fs::path(path).extension() == ".json") {
    index_path = path;
  } else {
    shard_paths.push_back(path);
  }

  // weight_map: tensor name -> shard file name, relative to the index's folder.
  std::map<std::string, std::string> expected_shard;
  if (!index_path.empty()) {
    const json index = read_json_file(index_path);
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
      throw Error(index_path, "weight_map", "missing or not an object");
    }
    std::set<std::string> shard_names;
    const fs::path folder = fs::path(index_path).parent_path();
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) throw Error(index_path, "weight_map." + name, "shard must be a file name");
      const std::string shard_path = (folder / shard.get<std::string>()).string();
      expected_shard.emplace(name, shard_path);
      shard_names.insert(shard_path);
    }
    shard_paths.assign(shard_names.begin(), shard_names.end());
  }

  for (const std::string& shard_path : shard_paths) {
    auto shard = std::make_unique<SafetensorsFile>(SafetensorsFile::open(shard_path));
    for (const TensorView& view : shard->tensors()) {
      const auto [it, inserted] = checkpoint.shard_of_.emplace(view.name, checkpoint.shards_.size());
      if (!inserted) {
        throw Error(shard_path, view.name, "also stored in " + checkpoint.shards_[it->second]->path());
      }
    }
    checkpoint.shards_.push_back(std::move(shard));
  }
  for (const auto& [name, shard_path] : expected_shard) {
    const auto it = checkpoint.shard_of_.find(name);
    if (it == checkpoint.shard_of_.end() || checkpoint.shards_[it->second]->path() != shard_path) {
      throw Error(index_path, name, "listed in weight_map but missing from " + shard_path);
    }
  }
  return checkpoint;
}

std::vector<const TensorView*> SafetensorsCheckpoint::tensors() const {
  std::vector<const TensorView*> all;
  for (const auto& shard : shards_) {
    for (const TensorView& view : shard->tensors()) all.push_back(&view);
  }
  return all;
}

const TensorView* SafetensorsCheckpoint::find_tensor(const std::string& name) const {
  const auto it = shard_of_.find(name);
  return it == shard_of_.end() ? nullptr : shards_[it->second]->find_tensor(name);
}

const TensorView& SafetensorsCheckpoint::tensor(const std::string& name) const {
  if (const TensorView* view = find_tensor(name)) return *view;
  throw Error(path_, name, "no such tensor");
}

const std::string& SafetensorsCheckpoint::file_of(const std::string& name) const {
  const auto it = shard_of_.find(name);
  if (it == shard_of_.end()) throw Error(path_, name, "no such tensor");
  return shards_[it->second]->path();
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  std::uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    if (tensor.name == kMetadataKey || header.contains(tensor.name)) {
      throw Error(path, tensor.name, "duplicate or reserved tensor name");
    }
    if (dtype_is_quantized(tensor.dtype)) {
      throw Error(path, tensor.name, "safetensors cannot hold " + std::string(dtype_name(tensor.dtype)));
    }
    std::int64_t numel = 1;
    for (const std::int64_t dim : tensor.shape) {
      if (dim < 0) throw Error(path, tensor.name, "negative dimension in shape " + shape_text(tensor.shape));
      numel *= dim;
    }
    const auto needed = dtype_storage_bytes(tensor.dtype, numel);
    if (!needed || *needed != tensor.data.size()) {
      throw Error(path, tensor.name,
                  "has " + std::to_string(tensor.data.size()) + " bytes, shape " + shape_text(tensor.shape) +
                      " of " + std::string(dtype_name(tensor.dtype)) + " needs " +
                      std::to_string(needed.value_or(0)));
    }
    header[tensor.name] = {{"dtype", dtype_name(tensor.dtype)},
                           {"shape", tensor.shape},
                           {"data_offsets", {offset, offset + tensor.data.size()}}};
    offset += tensor.data.size();
  }
  std::string header_text = header.dump();
  // Pad with spaces (allowed by the format) so the data buffer starts 8-byte aligned.
  header_text.append((8 - header_text.size() % 8) % 8, ' ');
  const std::uint64_t header_length = header_text.size();

  AtomicOutputFile out(path);
  out.write(std::as_bytes(std::span(&header_length, 1)));
  out.write(header_text);
  for (const TensorToWrite& tensor : tensors) out.write(tensor.data);
  out.commit();
}

}  // namespace remedi::io
