# embed.cmake: turn a file into a C array (cmake -DIN=... -DOUT=... -DNAME=...
# -P embed.cmake), so hqd serves its dashboard without reading files at run
# time. xxd is not on a minimal Debian; CMake is.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" bytes "${bytes}")
get_filename_component(base "${IN}" NAME)
file(WRITE "${OUT}" "/* Generated from ${base} by embed.cmake: do not edit. */
#include <stddef.h>
extern const unsigned char ${NAME}[];
extern const size_t ${NAME}_len;
const unsigned char ${NAME}[] = {
${bytes}0x00 };
const size_t ${NAME}_len = ${len};
")
