# Installs the build in BUILD_DIR into WORK_DIR/prefix, then configures, builds and runs the
# consumer project examples/embed against it. Run by ctest:
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -DGENERATOR=... -DCXX_COMPILER=...
#         [-DLAUNCHER=ccache] -P install_test.cmake
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

function(run what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${WORK_DIR}"
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status}):\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix")
foreach(installed include/hpo/study.h include/hpo/storage.h include/hpo/plugin.h
                  lib/cmake/hpo/hpoConfig.cmake lib/cmake/hpo/hpoTargets.cmake)
  if(NOT EXISTS "${WORK_DIR}/prefix/${installed}")
    message(FATAL_ERROR "not installed: ${installed}")
  endif()
endforeach()
# Only the public surface: no internal header (engine/, storage/, ...) is shipped.
file(GLOB_RECURSE shipped RELATIVE "${WORK_DIR}/prefix/include" "${WORK_DIR}/prefix/include/*")
foreach(header ${shipped})
  if(NOT header MATCHES "^hpo/[a-z_]+\\.h$")
    message(FATAL_ERROR "installed a header outside include/hpo: ${header}")
  endif()
endforeach()
# Public headers include only std and each other.
file(GLOB public_headers "${WORK_DIR}/prefix/include/hpo/*.h")
foreach(header ${public_headers})
  file(STRINGS "${header}" includes REGEX "^#include")
  foreach(line ${includes})
    if(line MATCHES "^#include \"" AND NOT line MATCHES "^#include \"hpo/")
      message(FATAL_ERROR "${header} includes a non-public header: ${line}")
    endif()
    if(line MATCHES "nlohmann|boost|sqlite|Eigen|tbb")
      message(FATAL_ERROR "${header} includes a third-party header: ${line}")
    endif()
  endforeach()
endforeach()

set(configure_args -S "${SOURCE_DIR}/examples/embed" -B "${WORK_DIR}/build" -G "${GENERATOR}"
    "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    -DCMAKE_BUILD_TYPE=Release)
if(LAUNCHER)
  list(APPEND configure_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
run("configuring examples/embed" ${CMAKE_COMMAND} ${configure_args})
run("building examples/embed" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("running examples/embed" "${WORK_DIR}/build/hpo-embed" "${WORK_DIR}/embed.db")
message(STATUS "${last_output}")
if(NOT last_output MATCHES "best trial #")
  message(FATAL_ERROR "examples/embed printed no best trial:\n${last_output}")
endif()
