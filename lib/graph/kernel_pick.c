/* Timing two kernels with the same bits on a context's own decode passes
 * (kernel_pick.h). */
#include <stdlib.h>
#include <string.h>

#include "graph/kernel_pick.h"

/* the first stage at or after s that has something to time */
static int next_stage(const bn_kernel_pick *p, int s)
{
    while (s < BN_PICK_COUNT && !p->has_alt[s])
        s++;
    return s;
}

void bn_kernel_pick_init(bn_kernel_pick *p, bn_pick_mode mode, const uint8_t has_alt[BN_PICK_COUNT])
{
    memset(p, 0, sizeof *p);
    memcpy(p->has_alt, has_alt, sizeof p->has_alt);
    if (mode == BN_PICK_TIMED) {
        p->stage = next_stage(p, 0);
        return;
    }
    p->stage = BN_PICK_COUNT;
    for (int i = 0; i < BN_PICK_COUNT; i++)
        p->use_alt[i] = mode == BN_PICK_LOWER && has_alt[i];
}

int bn_kernel_pick_begin(bn_kernel_pick *p, uint8_t use[BN_PICK_COUNT])
{
    memcpy(use, p->use_alt, sizeof p->use_alt);
    if (p->stage >= BN_PICK_COUNT)
        return 0;
    if (!p->warm) {
        p->trying = 0;
        return 1;
    }
    /* alternate, own kernels first */
    p->trying = p->n[0] > p->n[1];
    use[p->stage] = (uint8_t)p->trying;
    return 1;
}

static uint64_t median(uint64_t *v, int n)
{
    for (int i = 1; i < n; i++)     /* insertion sort: five values */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

void bn_kernel_pick_end(bn_kernel_pick *p, uint64_t ns)
{
    if (p->stage >= BN_PICK_COUNT)
        return;
    if (!p->warm) {
        p->warm = 1;
        return;
    }
    p->ns[p->trying][p->n[p->trying]++] = ns;
    if (p->n[0] < BN_PICK_SAMPLES || p->n[1] < BN_PICK_SAMPLES)
        return;
    const uint64_t own = median(p->ns[0], BN_PICK_SAMPLES), alt = median(p->ns[1], BN_PICK_SAMPLES);
    p->use_alt[p->stage] = (double)alt < (1.0 - BN_PICK_MARGIN) * (double)own;
    p->n[0] = p->n[1] = 0;
    p->stage = next_stage(p, p->stage + 1);
}

int bn_kernel_pick_mode_env(void)
{
    const char *e = getenv("BITNET_KERNEL_PICK");
    if (!e || !*e || !strcmp(e, "timed"))
        return BN_PICK_TIMED;
    if (!strcmp(e, "own"))
        return BN_PICK_OWN;
    if (!strcmp(e, "lower"))
        return BN_PICK_LOWER;
    return -1;
}
