#include "services/customers/text.h"

#include <gtest/gtest.h>

namespace contactcentre::customers {
namespace {

TEST(TextTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(CodePoints("abc"), 3u);
  EXPECT_EQ(CodePoints("Иван"), 4u);
  EXPECT_EQ(CodePoints(""), 0u);
}

TEST(TextTest, LowerCasesLatinAndCyrillic) {
  EXPECT_EQ(LowerCase("ИВАНОВ Ivanov Ёлкин"), "иванов ivanov ёлкин");
  EXPECT_EQ(LowerCase("№3 ЖКХ"), "№3 жкх");
}

TEST(TextTest, SearchFormFoldsYoAndPunctuation) {
  EXPECT_EQ(SearchForm("  Фёдоров,  Пётр-Иванович "), "федоров петр иванович");
  EXPECT_EQ(SearchForm("O'Brien"), "o brien");
}

}  // namespace
}  // namespace contactcentre::customers
