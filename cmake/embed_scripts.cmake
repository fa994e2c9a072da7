# Run by cc_lua_scripts(): writes a header that holds each DIR/<name>.lua as
# `inline constexpr char k<Name>[]`, the shared prelude DIR/lib.lua prepended to every other
# script so that each runs standalone under EVALSHA. Inputs: NAMESPACE, OUTPUT, SOURCE, FILES.
set(prelude "")
foreach(file IN LISTS FILES)
  get_filename_component(base "${file}" NAME_WE)
  if(base STREQUAL "lib")
    file(READ "${file}" prelude)
  endif()
endforeach()
set(body "")
foreach(file IN LISTS FILES)
  get_filename_component(base "${file}" NAME_WE)
  if(base STREQUAL "lib")
    continue()
  endif()
  file(READ "${file}" script)
  string(FIND "${prelude}${script}" ")lua\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw-string terminator )lua\"")
  endif()
  # snake_case -> CamelCase constant name
  string(REPLACE "_" ";" parts "${base}")
  set(constant "k")
  foreach(part IN LISTS parts)
    string(SUBSTRING "${part}" 0 1 first)
    string(TOUPPER "${first}" first)
    string(SUBSTRING "${part}" 1 -1 rest)
    string(APPEND constant "${first}${rest}")
  endforeach()
  string(APPEND body "// ${SOURCE}/${base}.lua\ninline constexpr char ${constant}[] = R\"lua(${prelude}\n${script})lua\";\n\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${SOURCE}/*.lua by cmake/embed_scripts.cmake.
#pragma once

namespace ${NAMESPACE} {

${body}}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
