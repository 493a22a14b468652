/* Stand-in for <stddef.h> when the public header is preprocessed for an FFI
 * parser (test_header.py): cffi knows size_t and the intN_t types itself,
 * and the C library's own header would bring compiler extensions it cannot
 * parse. Empty on purpose. */
