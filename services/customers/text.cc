#include "services/customers/text.h"

#include "absl/strings/ascii.h"

namespace contactcentre::customers {
namespace {

// Decodes the code point at text[i] (valid UTF-8 assumed: protobuf checks proto3 strings) and
// advances i.
uint32_t Next(absl::string_view text, size_t& i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
  if (i + length > text.size()) length = 1;
  uint32_t code_point = length == 1 ? lead : lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
  }
  i += length;
  return code_point;
}

void Append(std::string& out, uint32_t code_point) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
  }
}

uint32_t Lower(uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0x0410 && c <= 0x042f) return c + 0x20;  // А-Я
  if (c >= 0x0400 && c <= 0x040f) return c + 0x50;  // Ѐ-Џ, Ё
  return c;
}

bool IsLetterOrDigit(uint32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= 0x00c0 && c != 0x00d7 && c != 0x00f7 && c < 0x2000);
}

}  // namespace

size_t CodePoints(absl::string_view text) {
  size_t count = 0;
  for (size_t i = 0; i < text.size();) {
    Next(text, i);
    ++count;
  }
  return count;
}

std::string LowerCase(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) Append(out, Lower(Next(text, i)));
  return out;
}

std::string SearchForm(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    uint32_t c = Lower(Next(text, i));
    if (c == 0x0451) c = 0x0435;  // ё -> е
    if (!IsLetterOrDigit(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    Append(out, c);
  }
  return out;
}

std::string Trimmed(absl::string_view text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

}  // namespace contactcentre::customers
