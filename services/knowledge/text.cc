#include "services/knowledge/text.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"

namespace contactcentre::knowledge {
namespace {

// Decodes the code point at `text[*pos]` and advances `*pos`; invalid bytes decode as
// U+FFFD one byte at a time (inputs come from protobuf strings, which are valid UTF-8).
char32_t NextCodePoint(absl::string_view text, size_t* pos) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(*pos);
  size_t length = 1;
  char32_t cp = first;
  if (first >= 0xF0) {
    length = 4;
    cp = first & 0x07;
  } else if (first >= 0xE0) {
    length = 3;
    cp = first & 0x0F;
  } else if (first >= 0xC0) {
    length = 2;
    cp = first & 0x1F;
  } else if (first >= 0x80) {
    ++*pos;
    return 0xFFFD;
  }
  if (*pos + length > text.size()) {
    ++*pos;
    return 0xFFFD;
  }
  for (size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(*pos + i);
    if ((next & 0xC0) != 0x80) {
      ++*pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (next & 0x3F);
  }
  *pos += length;
  return cp;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::u32string Decode(absl::string_view text) {
  std::u32string result;
  result.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) result.push_back(NextCodePoint(text, &pos));
  return result;
}

std::string Encode(const std::u32string& text) {
  std::string result;
  result.reserve(text.size());
  for (char32_t cp : text) AppendUtf8(cp, result);
  return result;
}

bool IsSpace(char32_t cp) {
  return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

char32_t LowerCodePoint(char32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;
  return cp;
}

char32_t FoldCodePoint(char32_t cp) {
  cp = LowerCodePoint(cp);
  return cp == 0x451 ? 0x435 : cp;  // ё -> е
}

// Letters and digits of any script, as opposed to punctuation, symbols and spaces.
bool IsWordCodePoint(char32_t cp) {
  if (cp < 0x80) return absl::ascii_isalnum(static_cast<unsigned char>(cp));
  if (cp < 0xC0) return false;  // Latin-1 punctuation and symbols: « » № is not here, but ©...
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x2BFF) return false;  // punctuation, №, arrows, math, shapes
  if (cp >= 0x2E00 && cp <= 0x2E7F) return false;
  if (cp >= 0x3000 && cp <= 0x303F) return false;
  if (cp >= 0xFE10 && cp <= 0xFE6F) return false;
  if (cp >= 0xFF00 && cp <= 0xFF0F) return false;
  if (cp == 0xFEFF || cp == 0xFFFD) return false;
  return true;
}

bool IsCyrillic(char32_t cp) { return cp >= 0x400 && cp <= 0x52F; }

bool IsDigit(char32_t cp) { return cp >= '0' && cp <= '9'; }

std::vector<std::u32string> SplitWords(const std::u32string& folded) {
  std::vector<std::u32string> words;
  std::u32string current;
  for (char32_t cp : folded) {
    if (IsWordCodePoint(cp)) {
      current.push_back(cp);
    } else if (!current.empty()) {
      words.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
  return words;
}

std::u32string FoldDecoded(absl::string_view text) {
  std::u32string decoded = Decode(text);
  for (char32_t& cp : decoded) cp = FoldCodePoint(cp);
  return decoded;
}

// --- Markdown -------------------------------------------------------------------------------

bool StartsWith(const std::u32string& text, size_t pos, const std::u32string& prefix) {
  return text.compare(pos, prefix.size(), prefix) == 0;
}

bool IsAlnumAt(const std::u32string& line, size_t pos) {
  return pos < line.size() && IsWordCodePoint(line[pos]);
}

// Inline markup of one line: links and images keep their text, code and emphasis marks go,
// HTML tags go, autolinks keep their address, backslash escapes keep the escaped character.
std::u32string PlainInline(const std::u32string& line) {
  std::u32string out;
  for (size_t i = 0; i < line.size(); ++i) {
    const char32_t cp = line[i];
    if (cp == '\\' && i + 1 < line.size() && line[i + 1] < 0x80 &&
        absl::ascii_ispunct(static_cast<unsigned char>(line[i + 1]))) {
      out.push_back(line[++i]);
      continue;
    }
    if (cp == '!' && i + 1 < line.size() && line[i + 1] == '[') continue;  // image: keep alt
    if (cp == '[') {
      const size_t close = line.find(U']', i + 1);
      if (close != std::u32string::npos) {
        out += PlainInline(line.substr(i + 1, close - i - 1));
        size_t next = close + 1;
        if (next < line.size() && (line[next] == '(' || line[next] == '[')) {
          const char32_t closing = line[next] == '(' ? U')' : U']';
          const size_t end = line.find(closing, next + 1);
          if (end != std::u32string::npos) next = end + 1;
        }
        i = next - 1;
        continue;
      }
    }
    if (cp == '<') {
      const size_t close = line.find(U'>', i + 1);
      if (close != std::u32string::npos && i + 1 < line.size()) {
        const std::u32string inner = line.substr(i + 1, close - i - 1);
        if (StartsWith(inner, 0, U"http://") || StartsWith(inner, 0, U"https://") ||
            StartsWith(inner, 0, U"mailto:")) {
          out += inner;
          i = close;
          continue;
        }
        const char32_t next = line[i + 1];
        if ((next < 0x80 && absl::ascii_isalpha(static_cast<unsigned char>(next))) || next == '/' ||
            next == '!') {
          i = close;
          continue;
        }
      }
    }
    if (cp == '*' || cp == '`') continue;
    if (cp == '~' && i + 1 < line.size() && line[i + 1] == '~') {
      ++i;
      continue;
    }
    // Underscores inside a word (snake_case) are text; at a word boundary they are emphasis.
    if (cp == '_' && !(i > 0 && IsAlnumAt(line, i - 1) && IsAlnumAt(line, i + 1))) continue;
    if (cp == '|') {
      out.push_back(' ');
      continue;
    }
    out.push_back(cp);
  }
  return out;
}

bool IsRuleLine(const std::u32string& line) {
  char32_t mark = 0;
  int count = 0;
  for (char32_t cp : line) {
    if (cp == ' ' || cp == '\t') continue;
    if (cp != '-' && cp != '*' && cp != '_' && cp != '=') return false;
    if (mark != 0 && cp != mark) return false;
    mark = cp;
    ++count;
  }
  return count >= 3;
}

bool IsTableDelimiterLine(const std::u32string& line) {
  bool has_dash = false;
  for (char32_t cp : line) {
    if (cp == '-') {
      has_dash = true;
    } else if (cp != '|' && cp != ':' && cp != ' ' && cp != '\t') {
      return false;
    }
  }
  return has_dash && line.find(U'|') != std::u32string::npos;
}

// Block markers at the start of a line: quotes, headings, list items.
std::u32string StripBlockMarkers(std::u32string line) {
  size_t pos = 0;
  for (;;) {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    if (pos < line.size() && line[pos] == '>') {
      ++pos;
      continue;
    }
    break;
  }
  if (pos < line.size() && line[pos] == '#') {
    size_t hashes = pos;
    while (hashes < line.size() && line[hashes] == '#') ++hashes;
    if (hashes - pos <= 6 && (hashes == line.size() || line[hashes] == ' ')) {
      pos = hashes;
      size_t end = line.size();
      while (end > pos && (line[end - 1] == '#' || line[end - 1] == ' ')) --end;
      line = line.substr(0, end);
    }
  } else if (pos + 1 < line.size() && (line[pos] == '-' || line[pos] == '*' || line[pos] == '+') &&
             line[pos + 1] == ' ') {
    pos += 2;
    if (StartsWith(line, pos, U"[ ] ") || StartsWith(line, pos, U"[x] ")) pos += 4;
  } else {
    size_t digits = pos;
    while (digits < line.size() && IsDigit(line[digits]) && digits - pos < 9) ++digits;
    if (digits > pos && digits + 1 < line.size() && (line[digits] == '.' || line[digits] == ')') &&
        line[digits + 1] == ' ') {
      pos = digits + 2;
    }
  }
  return line.substr(std::min(pos, line.size()));
}

bool IsLinkDefinition(const std::u32string& line) {
  size_t pos = 0;
  while (pos < line.size() && line[pos] == ' ') ++pos;
  if (pos >= line.size() || line[pos] != '[') return false;
  const size_t close = line.find(U"]:", pos);
  return close != std::u32string::npos;
}

}  // namespace

std::string TrimText(absl::string_view text) {
  const std::u32string decoded = Decode(text);
  size_t begin = 0;
  size_t end = decoded.size();
  while (begin < end && IsSpace(decoded[begin])) ++begin;
  while (end > begin && IsSpace(decoded[end - 1])) --end;
  if (begin == 0 && end == decoded.size()) return std::string(text);
  return Encode(decoded.substr(begin, end - begin));
}

size_t CodePointCount(absl::string_view text) {
  size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string FoldForSearch(absl::string_view text) { return Encode(FoldDecoded(text)); }

std::string LowerText(absl::string_view text) {
  std::u32string decoded = Decode(text);
  for (char32_t& cp : decoded) cp = LowerCodePoint(cp);
  return Encode(decoded);
}

std::vector<std::string> SearchWords(absl::string_view text) {
  std::vector<std::string> words;
  for (const std::u32string& word : SplitWords(FoldDecoded(text))) words.push_back(Encode(word));
  return words;
}

std::vector<WordSpan> WordSpans(absl::string_view text) {
  std::vector<WordSpan> spans;
  bool in_word = false;
  for (size_t pos = 0; pos < text.size();) {
    const size_t begin = pos;
    const bool word = IsWordCodePoint(NextCodePoint(text, &pos));
    if (word && !in_word) spans.push_back({begin, begin});
    if (word) spans.back().end = pos;
    in_word = word;
  }
  return spans;
}

std::string DirectoryNameKey(absl::string_view name) {
  const std::vector<std::u32string> words = SplitWords(FoldDecoded(name));
  std::vector<std::string> kept;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::u32string& word = words[i];
    // "N 3": a lone Latin N in front of a number is the number sign.
    if (word == U"n" && i + 1 < words.size() && IsDigit(words[i + 1][0])) continue;
    // "N3".
    if (word.size() > 1 && word[0] == 'n' &&
        std::all_of(word.begin() + 1, word.end(), [](char32_t cp) { return IsDigit(cp); })) {
      kept.push_back(Encode(word.substr(1)));
      continue;
    }
    kept.push_back(Encode(word));
  }
  return absl::StrJoin(kept, " ");
}

std::string MarkdownToPlainText(absl::string_view markdown) {
  const std::u32string decoded = Decode(markdown);
  std::vector<std::u32string> lines;
  size_t start = 0;
  for (size_t i = 0; i <= decoded.size(); ++i) {
    if (i == decoded.size() || decoded[i] == '\n') {
      std::u32string line = decoded.substr(start, i - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      start = i + 1;
    }
  }
  std::u32string out;
  bool in_fence = false;
  for (const std::u32string& line : lines) {
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    if (StartsWith(line, indent, U"```") || StartsWith(line, indent, U"~~~")) {
      in_fence = !in_fence;
      continue;
    }
    std::u32string text;
    if (in_fence) {
      text = line;
    } else if (IsRuleLine(line) || IsTableDelimiterLine(line) || IsLinkDefinition(line)) {
      continue;
    } else {
      text = PlainInline(StripBlockMarkers(line));
    }
    if (!out.empty()) out.push_back('\n');
    out += text;
  }
  // Lines that became empty leave at most one blank line.
  std::u32string squeezed;
  int newlines = 0;
  for (char32_t cp : out) {
    if (cp == '\n') {
      if (++newlines > 2) continue;
    } else {
      newlines = 0;
    }
    squeezed.push_back(cp);
  }
  return TrimText(Encode(squeezed));
}

v1::Language DetectLanguage(absl::string_view text) {
  int cyrillic = 0;
  int other = 0;
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = NextCodePoint(text, &pos);
    if (IsCyrillic(cp)) {
      ++cyrillic;
    } else if ((cp < 0x80 && absl::ascii_isalpha(static_cast<unsigned char>(cp))) ||
               (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7)) {
      ++other;
    }
  }
  return cyrillic > other ? v1::LANGUAGE_RU : v1::LANGUAGE_EN;
}

double WordTrigramSimilarity(absl::string_view a, absl::string_view b) {
  const auto trigrams = [](absl::string_view word) {
    const std::u32string padded = U"  " + Decode(word) + U" ";
    std::set<std::u32string> result;
    for (size_t i = 0; i + 3 <= padded.size(); ++i) result.insert(padded.substr(i, 3));
    return result;
  };
  const std::set<std::u32string> left = trigrams(a);
  const std::set<std::u32string> right = trigrams(b);
  size_t shared = 0;
  for (const std::u32string& trigram : left) shared += right.count(trigram);
  const size_t all = left.size() + right.size() - shared;
  return all == 0 ? 0.0 : static_cast<double>(shared) / static_cast<double>(all);
}

v1::Snippet SnippetFromMarkedText(absl::string_view field, absl::string_view marked) {
  v1::Snippet snippet;
  snippet.set_field(std::string(field));
  std::string current;
  bool highlighted = false;
  bool pending_space = false;
  const auto flush = [&] {
    if (current.empty()) return;
    const int count = snippet.segments_size();
    // A run of highlighted words separated only by a space is one highlighted segment.
    if (highlighted && count >= 2 && snippet.segments(count - 1).text() == " " &&
        snippet.segments(count - 2).highlighted()) {
      snippet.mutable_segments()->RemoveLast();
      std::string* text = snippet.mutable_segments(count - 2)->mutable_text();
      text->push_back(' ');
      text->append(current);
    } else if (count >= 1 && snippet.segments(count - 1).highlighted() == highlighted) {
      snippet.mutable_segments(count - 1)->mutable_text()->append(current);
    } else {
      v1::SnippetSegment* segment = snippet.add_segments();
      segment->set_text(current);
      segment->set_highlighted(highlighted);
    }
    current.clear();
  };
  for (size_t pos = 0; pos < marked.size();) {
    const size_t before = pos;
    const char32_t cp = NextCodePoint(marked, &pos);
    if (cp == 0x01 || cp == 0x02) {
      const bool next_highlighted = cp == 0x01;
      if (next_highlighted != highlighted) {
        if (pending_space && (!current.empty() || snippet.segments_size() > 0)) {
          current.push_back(' ');
        }
        pending_space = false;
        flush();
        highlighted = next_highlighted;
      }
      continue;
    }
    if (IsSpace(cp)) {
      pending_space = true;
      continue;
    }
    if (pending_space && (!current.empty() || snippet.segments_size() > 0)) current.push_back(' ');
    pending_space = false;
    current.append(marked.data() + before, pos - before);
  }
  flush();
  return snippet;
}

v1::Snippet SimilarWordsSnippet(absl::string_view field, absl::string_view text,
                                const std::vector<std::string>& query_words, int max_words) {
  const std::u32string decoded = Decode(text);
  std::string marked;
  int words = 0;
  for (size_t i = 0; i < decoded.size() && words < max_words;) {
    if (!IsWordCodePoint(decoded[i])) {
      AppendUtf8(decoded[i], marked);
      ++i;
      continue;
    }
    size_t end = i;
    while (end < decoded.size() && IsWordCodePoint(decoded[end])) ++end;
    std::u32string word = decoded.substr(i, end - i);
    std::u32string folded = word;
    for (char32_t& cp : folded) cp = FoldCodePoint(cp);
    const std::string folded_text = Encode(folded);
    bool similar = false;
    for (const std::string& query_word : query_words) {
      if (folded_text == query_word ||
          (CodePointCount(query_word) >= 3 && absl::StartsWith(folded_text, query_word)) ||
          (CodePointCount(query_word) >= 4 &&
           WordTrigramSimilarity(folded_text, query_word) >= 0.4)) {
        similar = true;
        break;
      }
    }
    if (similar) marked += kHighlightStart;
    marked += Encode(word);
    if (similar) marked += kHighlightStop;
    ++words;
    i = end;
  }
  return SnippetFromMarkedText(field, marked);
}

std::string TruncateCodePoints(absl::string_view text, size_t max) {
  size_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && count++ == max) {
      return std::string(text.substr(0, i));
    }
  }
  return std::string(text);
}

bool HasHighlight(const v1::Snippet& snippet) {
  for (const v1::SnippetSegment& segment : snippet.segments()) {
    if (segment.highlighted()) return true;
  }
  return false;
}

bool HasControlCharacters(absl::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = NextCodePoint(text, &pos);
    if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || (cp >= 0x7F && cp <= 0x9F)) {
      return true;
    }
  }
  return false;
}

}  // namespace contactcentre::knowledge
