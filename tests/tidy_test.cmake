# Runs clang-tidy with the repository's .clang-tidy (warnings are errors) over the sources of
# hpo's libraries and tool, using the build's compile_commands.json. Run by ctest when
# clang-tidy is installed:
#   cmake -DSOURCE_DIR=<repo> -DBUILD_DIR=<build> -DRUN_CLANG_TIDY=<run-clang-tidy> -P tidy_test.cmake
execute_process(
  COMMAND "${RUN_CLANG_TIDY}" -p "${BUILD_DIR}" -j 2 -quiet
          "${SOURCE_DIR}/(engine|samplers|storage|executors)/.*\\.cpp$"
  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "[^\n]*(warning|error): [^\n]*" findings "${out}\n${err}")
list(REMOVE_DUPLICATES findings)
list(LENGTH findings count)
if(NOT status EQUAL 0 OR count GREATER 0)
  string(REPLACE ";" "\n" listed "${findings}")
  message(FATAL_ERROR "clang-tidy found ${count} problem(s) (status ${status}):\n${listed}")
endif()
message(STATUS "clang-tidy: no findings")
