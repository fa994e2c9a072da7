# Helpers that keep every CMakeLists.txt of the suite a flat list of targets.
#
#   cc_proto_library(NAME n PROTOS a.proto ... [DEPS other_proto_libs] [GRPC] [ROOT dir])
#   cc_library(NAME n SRCS ... [HDRS ...] [DEPS ...])
#   cc_binary(NAME n SRCS ... [DEPS ...])
#   cc_test(NAME n SRCS ... [DEPS ...] LABELS unit|integration|e2e [FIXTURES servers])
#   cc_migrations(NAME n COMPONENT calls DIR schema)
#
# Project code compiles with -Wall -Wextra -Werror; generated code does not (it is not ours).

set(CC_PROTO_ROOT "${PROJECT_SOURCE_DIR}/proto")
set(CC_GEN_DIR "${PROJECT_BINARY_DIR}/gen")
# Designated initializers deliberately leave members at their defaults, which -Wextra flags.
set(CC_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)

# Generates C++ (and with GRPC, gRPC service) code from .proto files under proto/ (or ROOT),
# named relative to that folder, and compiles it into a static library. protoc runs explicitly with
# -I proto so that outputs land at predictable paths (gen/contactcentre/...).
function(cc_proto_library)
  cmake_parse_arguments(ARG "GRPC" "NAME;ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT ARG_ROOT)
    set(ARG_ROOT "${CC_PROTO_ROOT}")
  endif()
  set(srcs)
  set(hdrs)
  set(proto_paths)
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(dir "${proto}" DIRECTORY)
    get_filename_component(stem "${proto}" NAME_WE)
    list(APPEND proto_paths "${ARG_ROOT}/${proto}")
    list(APPEND srcs "${CC_GEN_DIR}/${dir}/${stem}.pb.cc")
    list(APPEND hdrs "${CC_GEN_DIR}/${dir}/${stem}.pb.h")
    if(ARG_GRPC)
      list(APPEND srcs "${CC_GEN_DIR}/${dir}/${stem}.grpc.pb.cc")
      list(APPEND hdrs "${CC_GEN_DIR}/${dir}/${stem}.grpc.pb.h")
    endif()
  endforeach()
  set(plugin_args)
  if(ARG_GRPC)
    set(plugin_args
        "--grpc_out=${CC_GEN_DIR}"
        "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
  endif()
  add_custom_command(
    OUTPUT ${srcs} ${hdrs}
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CC_GEN_DIR}"
    COMMAND protobuf::protoc -I "${ARG_ROOT}" -I "${CC_PROTO_ROOT}" "--cpp_out=${CC_GEN_DIR}"
            ${plugin_args} ${ARG_PROTOS}
    WORKING_DIRECTORY "${ARG_ROOT}"
    DEPENDS ${proto_paths} protobuf::protoc
    COMMENT "protoc ${ARG_NAME}"
    VERBATIM)
  add_library(${ARG_NAME} STATIC ${srcs} ${hdrs})
  target_include_directories(${ARG_NAME} SYSTEM PUBLIC "${CC_GEN_DIR}")
  target_link_libraries(${ARG_NAME} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${ARG_NAME} PUBLIC gRPC::grpc++)
  endif()
endfunction()

function(cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;HDRS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS} ${ARG_HDRS})
  target_include_directories(${ARG_NAME} PUBLIC "${PROJECT_SOURCE_DIR}")
  target_compile_options(${ARG_NAME} PRIVATE ${CC_WARNINGS})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
endfunction()

function(cc_binary)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE "${PROJECT_SOURCE_DIR}")
  target_compile_options(${ARG_NAME} PRIVATE ${CC_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS})
endfunction()

# A GoogleTest binary registered with CTest. LABELS is unit (no servers), integration (the
# private PostgreSQL and Redis, started once per ctest run by the `servers` fixture) or e2e
# (real service processes too). Integration and e2e tests find the servers through
# CC_TEST_SERVERS_ENV.
function(cc_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PRIVATE "${PROJECT_SOURCE_DIR}")
  target_compile_options(${ARG_NAME} PRIVATE ${CC_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  cc_test_needs_servers(${ARG_NAME} "${ARG_LABELS}")
endfunction()

# Tests labelled integration or e2e require the `servers` fixture and learn where the servers
# listen from the env file it writes.
function(cc_test_needs_servers test labels)
  if("integration" IN_LIST labels OR "e2e" IN_LIST labels)
    set_tests_properties(${test} PROPERTIES
      FIXTURES_REQUIRED servers
      ENVIRONMENT "CC_TEST_SERVERS_ENV=${CC_TEST_SERVERS_DIR}/env;CC_SOURCE_DIR=${PROJECT_SOURCE_DIR};CC_BINARY_DIR=${PROJECT_BINARY_DIR}")
  endif()
endfunction()

# Embeds numbered SQL migrations (DIR/NNNN_name.sql) into a library that exposes
# `const std::vector<contactcentre::common::Migration>& SchemaMigrations()` in namespace
# contactcentre::<COMPONENT>, declared in "<this folder>/schema.h" (e.g. "services/calls/schema.h"),
# so that a binary carries its schema and needs no files at run time.
function(cc_migrations)
  cmake_parse_arguments(ARG "" "NAME;COMPONENT;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*.sql")
  list(SORT sql_files)
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  set(out "${CC_GEN_DIR}/${folder}/schema.cc")
  set(header "${CC_GEN_DIR}/${folder}/schema.h")
  add_custom_command(
    OUTPUT "${out}" "${header}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CC_GEN_DIR}/${folder}"
    COMMAND ${CMAKE_COMMAND} "-DCOMPONENT=${ARG_COMPONENT}" "-DOUTPUT=${out}" "-DHEADER=${header}"
            "-DINCLUDE=${folder}/schema.h" "-DSOURCE=${folder}/${ARG_DIR}" "-DFILES=${sql_files}"
            -P "${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake"
    DEPENDS ${sql_files} "${PROJECT_SOURCE_DIR}/cmake/embed_migrations.cmake"
    COMMENT "embedding ${ARG_COMPONENT} migrations"
    VERBATIM)
  # Only the header of common/migrations.h is needed (the Migration struct), so the library
  # does not link cc_common, which itself embeds the common migrations.
  add_library(${ARG_NAME} STATIC "${out}" "${header}")
  target_include_directories(${ARG_NAME} PUBLIC "${PROJECT_SOURCE_DIR}" "${CC_GEN_DIR}")
  target_compile_options(${ARG_NAME} PRIVATE ${CC_WARNINGS})
endfunction()

# Embeds the Lua scripts of DIR (one file per script, plus a shared prelude DIR/lib.lua) into the
# header "<this folder>/scripts.h" as constants in NAMESPACE, e.g. DIR/offer_call.lua becomes
# kOfferCall. A header-only library target NAME carries the generated header.
function(cc_lua_scripts)
  cmake_parse_arguments(ARG "" "NAME;NAMESPACE;DIR" "" ${ARGN})
  file(GLOB lua_files CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${ARG_DIR}/*.lua")
  list(SORT lua_files)
  file(RELATIVE_PATH folder "${PROJECT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}")
  set(header "${CC_GEN_DIR}/${folder}/scripts.h")
  add_custom_command(
    OUTPUT "${header}"
    COMMAND ${CMAKE_COMMAND} -E make_directory "${CC_GEN_DIR}/${folder}"
    COMMAND ${CMAKE_COMMAND} "-DNAMESPACE=${ARG_NAMESPACE}" "-DOUTPUT=${header}"
            "-DSOURCE=${folder}/${ARG_DIR}" "-DFILES=${lua_files}"
            -P "${PROJECT_SOURCE_DIR}/cmake/embed_scripts.cmake"
    DEPENDS ${lua_files} "${PROJECT_SOURCE_DIR}/cmake/embed_scripts.cmake"
    COMMENT "embedding ${folder} Lua scripts"
    VERBATIM)
  add_custom_target(${ARG_NAME}_generate DEPENDS "${header}")
  add_library(${ARG_NAME} INTERFACE)
  add_dependencies(${ARG_NAME} ${ARG_NAME}_generate)
  target_include_directories(${ARG_NAME} INTERFACE "${CC_GEN_DIR}")
endfunction()
