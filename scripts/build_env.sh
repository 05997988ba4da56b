# Sourced by the build scripts (setup.sh, sanitizer_build.sh, ci_sanitizers.sh): what every build
# of this repository shares.
#
# ccache keys on the compile command. CMake writes absolute paths, so without a base directory
# two clones at different paths (a developer's checkout and CI's clean one) never share an entry
# and every clean checkout compiles everything from scratch. With the clone's root as base_dir
# and the working directory left out of the hash, paths inside the clone are hashed relative to
# it and any clone of the same commit hits the cache. Set either variable to override.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
HPO_JOBS="${HPO_JOBS:-2}"
