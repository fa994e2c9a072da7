// Text handling of the knowledge service that needs no database: Unicode-aware trimming and
// counting, the search folding the contract promises ("ё" as "е", case ignored), Markdown to
// plain text for snippets and the search vector, language detection, directory name keys,
// trigram similarity of words, and the split of highlighted snippets into segments.
//
// Only Russian and English matter to the service: case folding covers ASCII, Latin-1 and
// Cyrillic; other scripts pass through unchanged.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "contactcentre/knowledge/v1/types.pb.h"

namespace contactcentre::knowledge {

// `text` without leading and trailing white space (ASCII and the Unicode spaces people paste:
// no-break, thin, ideographic, zero-width no-break).
std::string TrimText(absl::string_view text);

// The number of Unicode code points of valid UTF-8 `text`.
size_t CodePointCount(absl::string_view text);

// `text` lower-cased (ASCII, Latin-1, Cyrillic) with "ё" folded to "е": the form in which
// searches compare texts.
std::string FoldForSearch(absl::string_view text);

// `text` lower-cased (ASCII, Latin-1, Cyrillic), "ё" kept: how tags are stored.
std::string LowerText(absl::string_view text);

// Words of `text` after FoldForSearch: maximal runs of letters and digits.
std::vector<std::string> SearchWords(absl::string_view text);

// The key a directory name is searched by: folded words joined by single spaces, "№", "N" and
// "#" in front of a number dropped, every other punctuation mark a word break, so that
// "Городская поликлиника №3" and "городская поликлиника 3" have the same key.
std::string DirectoryNameKey(absl::string_view name);

// Where the words of `text` are: byte ranges [begin, end) of maximal runs of letters and
// digits, in order.
struct WordSpan {
  size_t begin;
  size_t end;
};
std::vector<WordSpan> WordSpans(absl::string_view text);

// Markdown (CommonMark) reduced to the plain text a reader sees: no emphasis marks, heading
// or list markers, code fences, HTML tags or link targets; line structure kept.
std::string MarkdownToPlainText(absl::string_view markdown);

// RU when most letters of `text` are Cyrillic, EN otherwise (also for text without letters).
v1::Language DetectLanguage(absl::string_view text);

// pg_trgm's similarity of two single words (already folded): shared trigrams of the words
// padded as pg_trgm pads them, over all trigrams of both; 1 for equal words.
double WordTrigramSimilarity(absl::string_view a, absl::string_view b);

// Markers the SQL of the service asks ts_headline to put around matched words; control
// characters, which no stored text holds (they are refused on input).
inline constexpr char kHighlightStart[] = "\x01";
inline constexpr char kHighlightStop[] = "\x02";

// A snippet of `field` from text marked with kHighlightStart/kHighlightStop; white space is
// collapsed. Markers left unbalanced are dropped.
v1::Snippet SnippetFromMarkedText(absl::string_view field, absl::string_view marked);

// A snippet of the first `max_words` words of `text` in which the words similar to one of
// `query_words` (folded) are highlighted: equal, a prefix of 3+ letters, or trigram-similar
// (typos). What searches show where ts_headline, which knows no typos, highlights nothing.
v1::Snippet SimilarWordsSnippet(absl::string_view field, absl::string_view text,
                                const std::vector<std::string>& query_words, int max_words);

// The first `max` code points of `text`.
std::string TruncateCodePoints(absl::string_view text, size_t max);

// True when some segment of `snippet` is highlighted.
bool HasHighlight(const v1::Snippet& snippet);

// True when `text` holds a control character other than tab, line feed and carriage return
// (they would break snippets and are never part of people's text).
bool HasControlCharacters(absl::string_view text);

}  // namespace contactcentre::knowledge
