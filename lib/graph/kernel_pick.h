/* Which of two kernels with the same bits a context's decode passes use.
 * Where the CPU runs a second, lower-level kernel for a product that gives
 * the same bits (bn_kernels' *_alt entries), which one is faster depends on
 * the machine: on a 2-core AMD Zen 5 the AVX2 F16 product decoded faster
 * than the AVX-512 one while one thread alone read at the same speed with
 * either (doc/design.md, "One kernel per product"). So a context times its
 * own single-token passes: after one pass of warm-up, passes alternate the
 * level's kernels and the alternatives, one product at a time (the float
 * products first, then the ternary ones), BN_PICK_SAMPLES passes each, and
 * the alternative is kept when its median pass is at least BN_PICK_MARGIN
 * faster. Batches of more than one token always use the level's own
 * kernels. Outputs are the same bits whatever is chosen, at any point. */
#ifndef BN_GRAPH_KERNEL_PICK_H
#define BN_GRAPH_KERNEL_PICK_H

#include <stdint.h>

#define BN_PICK_SAMPLES 5
#define BN_PICK_MARGIN 0.02

typedef enum bn_pick_product {
    BN_PICK_FLOAT,      /* F16, Q8_0 and Q4_0 products (the output head) */
    BN_PICK_TERNARY,
    BN_PICK_COUNT
} bn_pick_product;

typedef enum bn_pick_mode {
    BN_PICK_TIMED,      /* the default */
    BN_PICK_OWN,        /* always the level's own kernels */
    BN_PICK_LOWER,      /* always the alternatives where there are some */
} bn_pick_mode;

typedef struct bn_kernel_pick {
    int stage;                      /* product being timed; BN_PICK_COUNT once done */
    int warm;                       /* 1 after the warm-up pass */
    int trying;                     /* kernel of the pass being timed: 0 own, 1 alternative */
    int n[2];                       /* passes timed with each in this stage */
    uint64_t ns[2][BN_PICK_SAMPLES];
    uint8_t has_alt[BN_PICK_COUNT];
    uint8_t use_alt[BN_PICK_COUNT]; /* the choices made */
} bn_kernel_pick;

/* has_alt[p]: whether product p has an alternative the model uses. */
void bn_kernel_pick_init(bn_kernel_pick *p, bn_pick_mode mode, const uint8_t has_alt[BN_PICK_COUNT]);

/* Before a single-token pass: which kernels it uses (use[p] = 1 for the
 * alternative); returns 1 when the pass is to be timed. */
int bn_kernel_pick_begin(bn_kernel_pick *p, uint8_t use[BN_PICK_COUNT]);

/* After a timed pass that completed: its duration. */
void bn_kernel_pick_end(bn_kernel_pick *p, uint64_t ns);

/* The mode named by BITNET_KERNEL_PICK ("timed", "own", "lower"; unset:
 * timed); -1 for anything else. */
int bn_kernel_pick_mode_env(void);

#endif
