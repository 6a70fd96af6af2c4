#include "data/biasinbios.h"

#include <algorithm>
#include <filesystem>
#include <iterator>

#include "data/articles.h"
#include "data/text.h"
#include "io/pickle.h"
#include "util/error.h"

namespace remedi::data {

namespace {

// Honorifics removed in front of a name, in the original's order.
constexpr std::string_view kHonorifics[] = {"professor", "prof.", "prof", "dr.", "dr",
                                            "doctor",    "mr.",   "mr",   "ms.", "ms",
                                            "mrs.",      "mrs",   "rev.", "rev", "pastor"};
constexpr std::string_view kExcludedFirstNames[] = {"Non-Residential"};

// Synthetic names for the LabHC rows: long, distinctive names, so that the substring counting of
// step 6 does not find them inside ordinary words.
constexpr std::string_view kFemaleFirstNames[] = {
    "Abigail",    "Beatrice",   "Camila",   "Delphine",   "Eleanor",    "Francesca", "Gabriela", "Harriet",
    "Isabella",   "Josephine",  "Katarina", "Lorraine",   "Marguerite", "Natalia",   "Ophelia",  "Priscilla",
    "Rosalind",   "Svetlana",   "Theodora", "Valentina",  "Wilhelmina", "Yolanda",   "Zuzanna",  "Adriana",
    "Bernadette", "Clementine", "Dorothea", "Evangeline", "Felicity",   "Genevieve"};
constexpr std::string_view kMaleFirstNames[] = {
    "Alejandro", "Bartholomew", "Cornelius",  "Demetrius", "Emmanuel",   "Frederick", "Giovanni", "Horatio",
    "Ignatius",  "Jeremiah",    "Konstantin", "Leopold",   "Maximilian", "Nathaniel", "Octavius", "Percival",
    "Quentin",   "Reginald",    "Sebastian",  "Thaddeus",  "Ulysses",    "Vincenzo",  "Wolfgang", "Xavier",
    "Yusuf",     "Zachariah",   "Anselm",     "Benedict",  "Casimir",    "Dominik"};
constexpr std::string_view kLastNames[] = {"Abernathy", "Blackwood", "Castellano", "Drummond", "Eastwood",
                                           "Fairbanks", "Galloway",  "Hargreaves", "Ingram",   "Jablonski",
                                           "Kowalczyk", "Lindqvist", "Montgomery", "Nakamura", "Okonkwo",
                                           "Pemberton", "Quintero",  "Rutherford", "Sandoval", "Thornbury",
                                           "Underhill", "Vasquez",   "Whitfield",  "Yamamoto", "Zielinski"};

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

std::string require_string(const Json& entry, const char* key, const std::string& file,
                           const std::string& where) {
  const auto found = entry.find(key);
  if (found == entry.end()) throw Error(file, where + "." + key, "missing");
  if (!found->is_string()) throw Error(file, where + "." + key, "expected a string, got " + found->dump());
  return found->get<std::string>();
}

std::vector<std::string> require_name(const Json& entry, const std::string& file, const std::string& where) {
  const auto found = entry.find("name");
  if (found == entry.end()) throw Error(file, where + ".name", "missing");
  if (!found->is_array() || found->empty())
    throw Error(file, where + ".name", "expected a non-empty tuple of strings");
  std::vector<std::string> parts;
  for (const Json& part : *found) {
    if (!part.is_string())
      throw Error(file, where + ".name", "expected a tuple of strings, got " + found->dump());
    parts.push_back(part.get<std::string>());
  }
  return parts;
}

std::string join_non_empty(const std::vector<std::string>& parts, const std::string& separator) {
  std::string joined;
  for (const std::string& part : parts) {
    if (part.empty()) continue;
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

std::size_t code_point_count(std::string_view text) { return count_occurrences(text, "") - 1; }

std::vector<std::string> csv_files_in(const std::string& folder) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(folder, "", "holds no .csv files");
  return files;
}

}  // namespace

std::string abridge_bio(const std::vector<std::string>& sentences, std::size_t sentence_min_words) {
  std::vector<std::string> kept;
  for (const std::string& sentence : sentences) {
    if (split_whitespace(sentence).size() >= sentence_min_words) kept.push_back(sentence);
  }
  if (kept.empty()) return "";
  return kept.size() == 1 ? kept[0] : kept[1];
}

bool convert_bios_entry(const Json& entry, const std::string& file, const std::string& where,
                        const BiosOptions& options, MediationSample& sample) {
  if (!entry.is_object()) throw Error(file, where, "expected a dict");
  const std::vector<std::string> name = require_name(entry, file, where);
  const std::string raw = require_string(entry, "raw", file, where);
  const std::string title = require_string(entry, "title", file, where);
  const std::string& first = name.front();
  if (std::find(std::begin(kExcludedFirstNames), std::end(kExcludedFirstNames), first) !=
      std::end(kExcludedFirstNames)) {
    return false;
  }

  // Every spelling of the person's name becomes the first name, honorific first.
  const std::string& last = name.back();
  const std::string full = join_non_empty(name, " ");
  const std::string first_last = first + " " + last;
  std::vector<std::string> replacements;
  for (const std::string& variant : {full, first_last, last}) {
    for (const std::string_view honorific : kHonorifics) {
      replacements.push_back(std::string(honorific) + " " + variant);
      replacements.push_back(capitalize_ascii(honorific) + " " + variant);
      replacements.push_back(upper_ascii(honorific) + " " + variant);
    }
  }
  replacements.insert(replacements.end(), {full, first_last, last});
  std::string bio = abridge_bio(options.sentence_splitter(raw), options.sentence_min_words);
  for (const std::string& replacement : replacements) bio = replace_all(bio, replacement, first);
  bio = strip_chars(bio, "*\u2022 ");

  const std::size_t mentions = count_occurrences(bio, first);
  if (mentions == 0) bio = "About " + first + ": " + bio;
  if (mentions > 1) return false;
  if (split_whitespace(bio).size() < options.bio_min_words) return false;

  sample.id = join_non_empty(name, "_");
  sample.entity = first;
  sample.prompt = first + " has the occupation of";
  sample.context = bio;
  sample.attribute = strip_chars(bio.substr(bio.find(first) + first.size()), ".: ");
  sample.target_mediated = replace_all(title, "_", " ");
  sample.target_unmediated.reset();
  sample.source = entry;
  return true;
}

Json bios_entry_from_labhc_row(const DelimitedTable& table, std::size_t row, std::uint64_t row_number,
                               std::uint64_t seed) {
  const std::vector<std::string>& cells = table.rows.at(row);
  const std::string hard_text = cells[table.column("hard_text")];
  const std::string profession = cells[table.column("profession")];
  const std::string gender = cells[table.column("gender")];
  if (profession.empty()) throw Error(table.file, table.where(row) + ": profession", "is empty");

  const std::uint64_t hash = splitmix64(seed + row_number);
  std::string_view first;
  if (gender == "Female") {
    first = kFemaleFirstNames[hash % std::size(kFemaleFirstNames)];
  } else if (gender == "Male") {
    first = kMaleFirstNames[hash % std::size(kMaleFirstNames)];
  } else {
    const std::size_t index = hash % (std::size(kFemaleFirstNames) + std::size(kMaleFirstNames));
    first = index < std::size(kFemaleFirstNames) ? kFemaleFirstNames[index]
                                                 : kMaleFirstNames[index - std::size(kFemaleFirstNames)];
  }
  const std::string_view last = kLastNames[(hash >> 32U) % std::size(kLastNames)];
  const std::string title_words = replace_all(profession, "_", " ");
  const std::string first_sentence =
      std::string(first) + " " + std::string(last) + " is " +
      Articles::spelling_rules().article(title_words.substr(0, title_words.find(' '))) + " " + title_words +
      ".";
  Json entry;
  entry["name"] = Json::array({std::string(first), "", std::string(last)});
  entry["raw"] = first_sentence + " " + hard_text;
  entry["start_pos"] = code_point_count(first_sentence) + 1;
  entry["bio"] = hard_text;
  entry["title"] = profession;
  entry["gender"] = gender == "Female" ? "F" : gender == "Male" ? "M" : gender;
  entry["synthetic_name"] = true;
  return entry;
}

std::vector<MediationSample> load_biosbias(const std::string& path, const BiosOptions& options) {
  namespace fs = std::filesystem;
  std::vector<MediationSample> samples;
  std::size_t entries_seen = 0;
  const auto convert = [&](const Json& entry, const std::string& file, const std::string& where) {
    MediationSample sample;
    if (convert_bios_entry(entry, file, where, options, sample)) samples.push_back(std::move(sample));
    ++entries_seen;
    return entries_seen < options.limit;
  };
  if (options.limit == 0) return samples;

  const std::string extension = fs::path(path).extension().string();
  if (extension == ".pkl" || extension == ".pickle") {
    io::read_pickle_list_file(path, [&](const Json& entry) {
      return convert(entry, path, "entry " + std::to_string(entries_seen));
    });
    return samples;
  }
  const std::vector<std::string> files =
      fs::is_directory(path) ? csv_files_in(path) : std::vector<std::string>{path};
  for (const std::string& file : files) {
    const DelimitedTable table = read_delimited(file, ',');
    for (std::size_t row = 0; row < table.rows.size(); ++row) {
      if (!convert(bios_entry_from_labhc_row(table, row, entries_seen, options.name_seed), file,
                   table.where(row))) {
        return samples;
      }
    }
  }
  return samples;
}

}  // namespace remedi::data
