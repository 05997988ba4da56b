# Checks that every folder's #include lines follow the dependency arrows of DESIGN.md:
#   include/hpo (the public surface) -> only itself, and no third-party header;
#   engine/model -> include/hpo only; samplers, storage, executors -> engine/model and
#   include/hpo only; engine -> everything but engine/cli; tests and examples are free.
# Run by ctest as: cmake -DSOURCE_DIR=<repo> -P layering_test.cmake
set(rules
  "engine/model|engine/model"
  "samplers|engine/model,samplers"
  "storage|engine/model,storage"
  "executors|engine/model,executors")
set(failures "")
foreach(rule IN LISTS rules)
  string(REPLACE "|" ";" parts "${rule}")
  list(GET parts 0 folder)
  list(GET parts 1 allowed)
  string(REPLACE "," ";" allowed "${allowed}")
  file(GLOB_RECURSE sources "${SOURCE_DIR}/${folder}/*.h" "${SOURCE_DIR}/${folder}/*.cpp")
  foreach(src IN LISTS sources)
    file(STRINGS "${src}" lines REGEX "^#include \"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" inc "${line}")
      string(REGEX MATCH "^[a-z_]+(/model)?" top "${inc}")
      set(ok FALSE)
      foreach(a IN LISTS allowed)
        if(inc MATCHES "^${a}/")
          set(ok TRUE)
        endif()
      endforeach()
      # Includes of our own folders only; anything else (a local header) must sit in the
      # same folder.
      if(NOT ok AND inc MATCHES "^(engine|samplers|storage|executors)/")
        string(APPEND failures "${src}: includes ${inc}\n")
      endif()
    endforeach()
  endforeach()
endforeach()
# The public headers: "hpo/..." and standard headers only.
file(GLOB public_headers "${SOURCE_DIR}/include/hpo/*.h")
foreach(src IN LISTS public_headers)
  file(STRINGS "${src}" lines REGEX "^#include")
  foreach(line IN LISTS lines)
    if(line MATCHES "^#include \"" AND NOT line MATCHES "^#include \"hpo/")
      string(APPEND failures "${src}: public header includes ${line}\n")
    elseif(line MATCHES "^#include <(nlohmann|boost|sqlite|Eigen|tbb|oneapi|yaml)")
      string(APPEND failures "${src}: public header includes ${line}\n")
    endif()
  endforeach()
endforeach()
# The engine's libraries never reach into the command line tool.
file(GLOB_RECURSE engine_sources "${SOURCE_DIR}/engine/*.h" "${SOURCE_DIR}/engine/*.cpp")
foreach(src IN LISTS engine_sources)
  if(src MATCHES "/engine/cli/")
    continue()
  endif()
  file(STRINGS "${src}" lines REGEX "^#include \"engine/cli/")
  foreach(line IN LISTS lines)
    string(APPEND failures "${src}: includes ${line}\n")
  endforeach()
endforeach()
if(failures)
  message(FATAL_ERROR "Layering violations (see DESIGN.md, 'Which way the arrows point'):\n${failures}")
endif()
message(STATUS "layering ok")
