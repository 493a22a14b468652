/* Data from the JSON files of shared/reference (generated once; see test/data/reference/README.md):
 * per reference file, the prompt, run 0's top-1 minus top-2 logit per prompt
 * position, and the largest max/rms distance to run 0 that bitnet.cpp or
 * llama.cpp reached with ternary weights on that file. */
#ifndef BN_TEST_REFERENCE_DATA_H
#define BN_TEST_REFERENCE_DATA_H

typedef struct bn_ref_file {
    const char *stem;
    int n_vocab;
    int prompt[16];
    double gap[16];
    double ternary_max, ternary_rms;
} bn_ref_file;

static const bn_ref_file bn_ref_small_seed1 = {
    "small-seed1", 1024,
    { 1016, 5, 17, 300, 999, 42, 7, 128, 64, 512, 900, 33, 250, 777, 3, 1000 },
    { 0.43981, 0.01937, 0.09485, 0.04096, 0.13207, 0.03136, 0.39452, 0.11673, 0.51744, 0.19577, 0.24444, 0.36837, 0.15513, 0.04619, 0.20781, 0.2226 },
    0.10645, 0.02444,
};

static const bn_ref_file bn_ref_small_silu_seed2 = {
    "small-silu-seed2", 1024,
    { 1016, 5, 17, 300, 999, 42, 7, 128, 64, 512, 900, 33, 250, 777, 3, 1000 },
    { 0.00683, 0.03657, 0.0791, 0.3552, 0.09763, 1.04935, 0.25418, 0.88168, 0.0227, 0.06468, 0.06491, 0.64462, 0.16436, 0.00717, 5e-05, 0.11572 },
    0.10667, 0.02342,
};

static const bn_ref_file bn_ref_small_llama_seed2 = {
    "small-llama-seed2", 1024,
    { 1016, 5, 17, 300, 999, 42, 7, 128, 64, 512, 900, 33, 250, 777, 3, 1000 },
    { 0.27825, 0.10954, 0.03538, 0.40458, 0.0687, 0.10645, 0.03464, 0.35281, 0.38926, 0.91678, 0.11237, 0.26321, 0.62811, 0.06431, 0.15515, 0.12794 },
    0.09295, 0.02208,
};

static const bn_ref_file bn_ref_b2b4t_seed1 = {
    "2b4t-seed1", 128256,
    { 128000, 791, 1890, 315, 9822, 374, 12366, 13, 578, 6864, 315, 9822, 374, 279, 1888, 13 },
    { 0.07723, 0.31554, 0.53563, 0.00999, 0.12329, 0.12914, 0.05938, 0.00627, 0.22171, 0.36865, 0.24125, 0.23011, 0.41698, 1.1461, 0.13617, 0.06361 },
    1.03963, 0.19071,
};

#endif
