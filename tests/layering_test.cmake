# Checks that every folder's #include lines follow the dependency arrows of DESIGN.md:
#   engine/model -> nothing of ours; samplers, storage, executors -> engine/model only;
#   engine -> everything but engine/cli; tests and examples are free.
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
if(failures)
  message(FATAL_ERROR "Layering violations (see DESIGN.md, 'Which way the arrows point'):\n${failures}")
endif()
message(STATUS "layering ok")
