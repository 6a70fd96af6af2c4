#include "io/pickle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

#include "util/error.h"
#include "util/mapped_file.h"

namespace remedi::io {

namespace {

// Opcodes of pickle protocols 2-5 that carry data (names as in CPython's pickletools).
enum Opcode : std::uint8_t {
  kMark = '(',
  kStop = '.',
  kPop = '0',
  kPopMark = '1',
  kDup = '2',
  kNone = 'N',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kBinFloat = 'G',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kEmptyList = ']',
  kAppend = 'a',
  kAppends = 'e',
  kList = 'l',
  kEmptyTuple = ')',
  kTuple = 't',
  kEmptyDict = '}',
  kDict = 'd',
  kSetItem = 's',
  kSetItems = 'u',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kBinPut = 'q',
  kLongBinPut = 'r',
  // Object opcodes, read only for torch state dicts (PickleOptions::torch_tensors) and only with the
  // globals of kTorchGlobals.
  kGlobal = 'c',
  kReduce = 'R',
  kBuild = 'b',
  kBinPersId = 'Q',
  kProto = 0x80,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8A,
  kLong4 = 0x8B,
  kShortBinUnicode = 0x8C,
  kBinUnicode8 = 0x8D,
  kBinBytes8 = 0x8E,
  kEmptySet = 0x8F,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kMemoize = 0x94,
  kFrame = 0x95,
  kByteArray8 = 0x96,
};

// Nested deeper than this is treated as malformed (it also stops self-referencing containers).
constexpr int kMaxDepth = 200;

struct Node;
using NodePtr = std::shared_ptr<Node>;
struct Node {
  enum class Kind {
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kBytes,
    kList,
    kTuple,
    kDict,
    kSet,
    kGlobal,   // text: "module.name" (torch mode)
    kStorage,  // text: storage key, dtype: element type (torch mode)
    kTensor    // text: storage key, dtype, integer: storage offset, items: {shape, stride} (torch mode)
  } kind = Kind::kNone;
  std::string dtype;
  bool boolean = false;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;  // str (UTF-8) or bytes
  std::vector<NodePtr> items;
  std::vector<std::pair<NodePtr, NodePtr>> entries;
};

NodePtr make(Node::Kind kind) {
  auto node = std::make_shared<Node>();
  node->kind = kind;
  return node;
}

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, std::string file, const PickleListVisitor* visit,
         PickleOptions options = {})
      : bytes_(bytes), file_(std::move(file)), visit_(visit), options_(options) {}
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Runs to STOP (or until the visitor asks to stop) and returns the top-level object.
  NodePtr run();
  PickleValue to_json(const NodePtr& node, int depth = 0) const;

 private:
  [[noreturn]] void fail(const std::string& reason) const {
    throw Error(file_, "byte " + std::to_string(opcode_offset_), reason);
  }
  const std::byte* take(std::uint64_t count) {
    if (count > bytes_.size() - pos_) fail("truncated: the data ends inside an opcode");
    const std::byte* start = bytes_.data() + pos_;
    pos_ += count;
    return start;
  }
  std::uint64_t unsigned_le(int size) {
    const std::byte* data = take(static_cast<std::uint64_t>(size));
    std::uint64_t value = 0;
    for (int i = size - 1; i >= 0; --i) value = (value << 8U) | std::to_integer<std::uint64_t>(data[i]);
    return value;
  }
  std::string take_string(std::uint64_t length) {
    const std::byte* data = take(length);
    return {reinterpret_cast<const char*>(data), static_cast<std::size_t>(length)};
  }
  NodePtr pop() {
    if (stack_.size() <= floor()) fail("stack underflow");
    NodePtr node = std::move(stack_.back());
    stack_.pop_back();
    return node;
  }
  NodePtr& top() {
    if (stack_.size() <= floor()) fail("stack underflow");
    return stack_.back();
  }
  std::size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<NodePtr> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<NodePtr> items(std::make_move_iterator(stack_.begin() + static_cast<std::ptrdiff_t>(mark)),
                               std::make_move_iterator(stack_.end()));
    stack_.resize(mark);
    return items;
  }
  void push(NodePtr node) {
    // The first object pushed onto an empty stack is the top-level object.
    if (stack_.empty() && marks_.empty() && !root_) root_ = node;
    stack_.push_back(std::move(node));
  }
  void push_integer(std::int64_t value) {
    NodePtr node = make(Node::Kind::kInt);
    node->integer = value;
    push(std::move(node));
  }
  void push_text(Node::Kind kind, std::string text) {
    NodePtr node = make(kind);
    node->text = std::move(text);
    push(std::move(node));
  }
  void push_long(std::uint64_t length);
  void torch_opcode(std::uint8_t opcode);
  std::vector<std::int64_t> int_tuple(const NodePtr& node, const char* what);
  void append_items(const NodePtr& target, std::vector<NodePtr> items);
  void set_items(const NodePtr& target, std::vector<NodePtr> items);
  void track_filled(const NodePtr& container);
  void memo_put(std::uint64_t index) { memo_[index] = top(); }
  void memo_get(std::uint64_t index) {
    const auto found = memo_.find(index);
    if (found == memo_.end()) fail("memo key " + std::to_string(index) + " was never stored");
    push(found->second);
  }

  std::span<const std::byte> bytes_;
  std::string file_;
  const PickleListVisitor* visit_;
  PickleOptions options_;
  std::size_t pos_ = 0;
  std::size_t opcode_offset_ = 0;
  std::vector<NodePtr> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, NodePtr> memo_;
  NodePtr root_;
  bool stopped_by_visitor_ = false;
  // The containers that received items after they were made. Through the memo a pickle can make
  // one hold itself (Python's `l.append(l)`), a cycle that shared ownership alone never frees: the
  // destructor empties the ones still alive. Expired entries are dropped as the list grows, so a
  // streamed BIOS.pkl does not keep one entry per record.
  std::vector<std::weak_ptr<Node>> filled_;
  std::size_t compact_at_ = 64;
};

Reader::~Reader() {
  for (const std::weak_ptr<Node>& weak : filled_) {
    if (const NodePtr container = weak.lock()) {
      container->items.clear();
      container->entries.clear();
    }
  }
}

void Reader::track_filled(const NodePtr& container) {
  if (!filled_.empty() && filled_.back().lock() == container) return;  // runs of APPEND to one list
  filled_.push_back(container);
  if (filled_.size() < compact_at_) return;
  std::erase_if(filled_, [](const std::weak_ptr<Node>& weak) { return weak.expired(); });
  compact_at_ = std::max<std::size_t>(64, 2 * filled_.size());
}

void Reader::push_long(std::uint64_t length) {
  if (length > 8) fail("integer wider than 64 bits");
  const std::byte* data = take(length);
  std::uint64_t value = 0;
  for (std::uint64_t i = length; i-- > 0;) value = (value << 8U) | std::to_integer<std::uint64_t>(data[i]);
  if (length > 0 && length < 8 && (std::to_integer<unsigned>(data[length - 1]) & 0x80U) != 0) {
    value |= ~std::uint64_t{0} << (8 * length);  // sign-extend the two's complement value
  }
  push_integer(std::bit_cast<std::int64_t>(value));
}

void Reader::append_items(const NodePtr& target, std::vector<NodePtr> items) {
  if (target->kind != Node::Kind::kList && target->kind != Node::Kind::kSet)
    fail("APPEND to something not a list");
  if (visit_ != nullptr && target == root_ && target->kind == Node::Kind::kList) {
    for (const NodePtr& item : items) {
      if (!(*visit_)(to_json(item))) {
        stopped_by_visitor_ = true;
        return;
      }
    }
    return;
  }
  track_filled(target);
  for (NodePtr& item : items) target->items.push_back(std::move(item));
}

void Reader::set_items(const NodePtr& target, std::vector<NodePtr> items) {
  if (target->kind != Node::Kind::kDict) fail("SETITEM on something not a dict");
  if (items.size() % 2 != 0) fail("SETITEMS with an odd number of keys and values");
  track_filled(target);
  for (std::size_t i = 0; i < items.size(); i += 2) target->entries.emplace_back(items[i], items[i + 1]);
}

NodePtr Reader::run() {
  if (bytes_.empty() || std::to_integer<std::uint8_t>(bytes_[0]) != kProto) {
    fail(
        "not a pickle of protocol 2 or later (protocols 0 and 1 are not supported; re-save with "
        "pickle.dump(obj, f, protocol=4))");
  }
  while (!stopped_by_visitor_) {
    opcode_offset_ = pos_;
    const auto opcode = std::to_integer<std::uint8_t>(*take(1));
    switch (opcode) {
      case kProto:
        if (const auto version = unsigned_le(1); version < 2 || version > 5) {
          fail("unsupported pickle protocol " + std::to_string(version));
        }
        break;
      case kFrame:
        unsigned_le(8);  // frames only group opcodes; their contents are read as usual
        break;
      case kStop: {
        if (stack_.size() != 1 || !marks_.empty())
          fail("STOP with " + std::to_string(stack_.size()) + " objects on the stack");
        return stack_.back();
      }
      case kMark:
        marks_.push_back(stack_.size());
        break;
      case kPop:
        pop();
        break;
      case kPopMark:
        pop_to_mark();
        break;
      case kDup:
        push(top());
        break;
      case kNone:
        push(make(Node::Kind::kNone));
        break;
      case kNewTrue:
      case kNewFalse: {
        NodePtr node = make(Node::Kind::kBool);
        node->boolean = opcode == kNewTrue;
        push(std::move(node));
        break;
      }
      case kBinInt:
        push_integer(std::bit_cast<std::int32_t>(static_cast<std::uint32_t>(unsigned_le(4))));
        break;
      case kBinInt1:
        push_integer(static_cast<std::int64_t>(unsigned_le(1)));
        break;
      case kBinInt2:
        push_integer(static_cast<std::int64_t>(unsigned_le(2)));
        break;
      case kLong1:
        push_long(unsigned_le(1));
        break;
      case kLong4:
        push_long(unsigned_le(4));
        break;
      case kBinFloat: {
        const std::byte* data = take(8);
        std::uint64_t big_endian = 0;
        for (int i = 0; i < 8; ++i) big_endian = (big_endian << 8U) | std::to_integer<std::uint64_t>(data[i]);
        NodePtr node = make(Node::Kind::kFloat);
        node->real = std::bit_cast<double>(big_endian);
        push(std::move(node));
        break;
      }
      case kShortBinUnicode:
      case kShortBinString:
        push_text(Node::Kind::kString, take_string(unsigned_le(1)));
        break;
      case kBinUnicode:
      case kBinString:
        push_text(Node::Kind::kString, take_string(unsigned_le(4)));
        break;
      case kBinUnicode8:
        push_text(Node::Kind::kString, take_string(unsigned_le(8)));
        break;
      case kShortBinBytes:
        push_text(Node::Kind::kBytes, take_string(unsigned_le(1)));
        break;
      case kBinBytes:
        push_text(Node::Kind::kBytes, take_string(unsigned_le(4)));
        break;
      case kBinBytes8:
      case kByteArray8:
        push_text(Node::Kind::kBytes, take_string(unsigned_le(8)));
        break;
      case kEmptyList:
        push(make(Node::Kind::kList));
        break;
      case kEmptyTuple:
        push(make(Node::Kind::kTuple));
        break;
      case kEmptyDict:
        push(make(Node::Kind::kDict));
        break;
      case kEmptySet:
        push(make(Node::Kind::kSet));
        break;
      case kList:
      case kTuple:
      case kFrozenSet: {
        NodePtr node = make(opcode == kList    ? Node::Kind::kList
                            : opcode == kTuple ? Node::Kind::kTuple
                                               : Node::Kind::kSet);
        node->items = pop_to_mark();
        push(std::move(node));
        break;
      }
      case kTuple1:
      case kTuple2:
      case kTuple3: {
        NodePtr node = make(Node::Kind::kTuple);
        node->items.resize(opcode - kTuple1 + 1);
        for (auto item = node->items.rbegin(); item != node->items.rend(); ++item) *item = pop();
        push(std::move(node));
        break;
      }
      case kDict: {
        NodePtr node = make(Node::Kind::kDict);
        set_items(node, pop_to_mark());
        push(std::move(node));
        break;
      }
      case kAppend: {
        NodePtr item = pop();
        append_items(top(), {std::move(item)});
        break;
      }
      case kAppends:
      case kAddItems: {
        std::vector<NodePtr> items = pop_to_mark();
        append_items(top(), std::move(items));
        break;
      }
      case kSetItem: {
        NodePtr value = pop();
        NodePtr key = pop();
        set_items(top(), {std::move(key), std::move(value)});
        break;
      }
      case kSetItems: {
        std::vector<NodePtr> items = pop_to_mark();
        set_items(top(), std::move(items));
        break;
      }
      case kMemoize:
        memo_put(memo_.size());
        break;
      case kBinPut:
        memo_put(unsigned_le(1));
        break;
      case kLongBinPut:
        memo_put(unsigned_le(4));
        break;
      case kBinGet:
        memo_get(unsigned_le(1));
        break;
      case kLongBinGet:
        memo_get(unsigned_le(4));
        break;
      case kGlobal:
      case kReduce:
      case kBuild:
      case kBinPersId:
        if (options_.torch_tensors) {
          torch_opcode(opcode);
          break;
        }
        [[fallthrough]];
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", opcode);
        fail(std::string("unsupported opcode ") + hex +
             " (only plain data is read: None, bool, int, float, str, bytes, list, tuple, dict, set)");
      }
    }
  }
  return root_;
}

// The globals a torch state dict may name, and the element type of each storage class.
constexpr std::array<std::pair<const char*, const char*>, 7> kTorchGlobals{{
    {"collections.OrderedDict", ""},
    {"torch._utils._rebuild_tensor_v2", ""},
    {"torch._utils._rebuild_parameter", ""},
    {"torch.FloatStorage", "float32"},
    {"torch.HalfStorage", "float16"},
    {"torch.BFloat16Storage", "bfloat16"},
    {"torch.DoubleStorage", "float64"},
}};

std::vector<std::int64_t> Reader::int_tuple(const NodePtr& node, const char* what) {
  if (node->kind != Node::Kind::kTuple) fail(std::string(what) + " is not a tuple");
  std::vector<std::int64_t> values;
  for (const NodePtr& item : node->items) {
    if (item->kind != Node::Kind::kInt) fail(std::string(what) + " holds a non-integer");
    values.push_back(item->integer);
  }
  return values;
}

// GLOBAL, REDUCE, BUILD and BINPERSID as torch.save writes them for a dict of tensors; nothing is
// called: each known global has a fixed meaning here.
void Reader::torch_opcode(std::uint8_t opcode) {
  switch (opcode) {
    case kGlobal: {
      std::string module;
      std::string name;
      for (std::string* part : {&module, &name}) {
        while (true) {
          const char c = static_cast<char>(*take(1));
          if (c == '\n') break;
          part->push_back(c);
          if (part->size() > 200) fail("GLOBAL name too long");
        }
      }
      const std::string qualified = module + "." + name;
      const auto known = std::find_if(kTorchGlobals.begin(), kTorchGlobals.end(),
                                      [&](const auto& g) { return qualified == g.first; });
      if (known == kTorchGlobals.end())
        fail("refused global " + qualified + " (not part of a tensor state dict)");
      NodePtr node = make(Node::Kind::kGlobal);
      node->text = qualified;
      node->dtype = known->second;
      push(std::move(node));
      return;
    }
    case kBinPersId: {  // ('storage', <storage class>, key, location, numel)
      const NodePtr id = pop();
      if (id->kind != Node::Kind::kTuple || id->items.size() != 5 ||
          id->items[0]->kind != Node::Kind::kString || id->items[0]->text != "storage" ||
          id->items[1]->kind != Node::Kind::kGlobal || id->items[1]->dtype.empty() ||
          id->items[2]->kind != Node::Kind::kString) {
        fail(
            "persistent id is not a ('storage', <FloatStorage|HalfStorage|BFloat16Storage|DoubleStorage>, "
            "key, ...)");
      }
      NodePtr node = make(Node::Kind::kStorage);
      node->text = id->items[2]->text;
      node->dtype = id->items[1]->dtype;
      push(std::move(node));
      return;
    }
    case kReduce: {
      const NodePtr args = pop();
      const NodePtr callable = pop();
      if (callable->kind != Node::Kind::kGlobal || args->kind != Node::Kind::kTuple)
        fail("REDUCE of a non-global");
      if (callable->text == "collections.OrderedDict") {
        if (!args->items.empty()) fail("OrderedDict with arguments");
        push(make(Node::Kind::kDict));
      } else if (callable->text == "torch._utils._rebuild_tensor_v2") {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (args->items.size() < 4 || args->items[0]->kind != Node::Kind::kStorage ||
            args->items[1]->kind != Node::Kind::kInt) {
          fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)");
        }
        int_tuple(args->items[2], "tensor size");
        int_tuple(args->items[3], "tensor stride");
        if (args->items[2]->items.size() != args->items[3]->items.size())
          fail("tensor size and stride differ in rank");
        NodePtr node = make(Node::Kind::kTensor);
        node->text = args->items[0]->text;
        node->dtype = args->items[0]->dtype;
        node->integer = args->items[1]->integer;
        node->items = {args->items[2], args->items[3]};
        push(std::move(node));
      } else if (callable->text == "torch._utils._rebuild_parameter") {  // (tensor, requires_grad, hooks)
        if (args->items.empty() || args->items[0]->kind != Node::Kind::kTensor)
          fail("_rebuild_parameter of a non-tensor");
        push(args->items[0]);
      } else {
        fail("REDUCE of " + callable->text);
      }
      return;
    }
    case kBuild: {  // state of an OrderedDict (its `_metadata`) or a tensor: not needed
      pop();
      const NodePtr& target = top();
      if (target->kind != Node::Kind::kDict && target->kind != Node::Kind::kTensor)
        fail("BUILD of a non-dict");
      return;
    }
    default:
      fail("unexpected opcode");
  }
}

PickleValue Reader::to_json(const NodePtr& node, int depth) const {
  if (depth > kMaxDepth)
    throw Error(file_, "", "objects nested deeper than " + std::to_string(kMaxDepth) + " levels");
  switch (node->kind) {
    case Node::Kind::kNone:
      return nullptr;
    case Node::Kind::kBool:
      return node->boolean;
    case Node::Kind::kInt:
      return node->integer;
    case Node::Kind::kFloat:
      return node->real;
    case Node::Kind::kString:
      return node->text;
    case Node::Kind::kBytes: {
      PickleValue values = PickleValue::array();
      for (const char c : node->text) values.push_back(static_cast<unsigned char>(c));
      return values;
    }
    case Node::Kind::kList:
    case Node::Kind::kTuple:
    case Node::Kind::kSet: {
      PickleValue values = PickleValue::array();
      for (const NodePtr& item : node->items) values.push_back(to_json(item, depth + 1));
      return values;
    }
    case Node::Kind::kDict: {
      PickleValue object = PickleValue::object();
      for (const auto& [key, value] : node->entries) {
        std::string name;
        if (key->kind == Node::Kind::kString) {
          name = key->text;
        } else if (key->kind == Node::Kind::kInt) {
          name = std::to_string(key->integer);
        } else if (key->kind == Node::Kind::kBool) {
          name = key->boolean ? "True" : "False";
        } else {
          throw Error(file_, "", "a dict key is not a str, int or bool");
        }
        object[name] = to_json(value, depth + 1);
      }
      return object;
    }
    case Node::Kind::kTensor:
      return {{"__torch_tensor__",
               {{"storage", node->text},
                {"dtype", node->dtype},
                {"offset", node->integer},
                {"shape", to_json(node->items[0], depth + 1)},
                {"stride", to_json(node->items[1], depth + 1)}}}};
    case Node::Kind::kGlobal:
    case Node::Kind::kStorage:
      throw Error(file_, "", "a torch global or storage outside a tensor");
  }
  return nullptr;
}

}  // namespace

void read_pickle_list(std::span<const std::byte> bytes, const std::string& file,
                      const PickleListVisitor& visit) {
  Reader reader(bytes, file, &visit);
  const NodePtr top = reader.run();
  if (!top || top->kind != Node::Kind::kList) throw Error(file, "", "the pickled object is not a list");
}

void read_pickle_list_file(const std::string& path, const PickleListVisitor& visit) {
  const MappedFile file(path);
  read_pickle_list(file.bytes(), path, visit);
}

PickleValue read_pickle(std::span<const std::byte> bytes, const std::string& file,
                        const PickleOptions& options) {
  Reader reader(bytes, file, nullptr, options);
  return reader.to_json(reader.run());
}

}  // namespace remedi::io
