// raii: libbitnet from C++, every handle owned by a std::unique_ptr whose
// deleter is the library's free function, so that nothing leaks on any path
// (early return or exception). Greedy generation with the text streamed out.
// Builds on its own against the installed library:
//
//     c++ raii.cpp $(pkg-config --cflags --libs bitnet) -o raii
//     ./raii models/default.gguf "And God said" 40
#include <bitnet/bitnet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// The free functions take T** (they also set the pointer to NULL); a
// unique_ptr deleter gets T*.
template <typename T, void (*Free)(T **)>
struct Deleter {
    void operator()(T *p) const { Free(&p); }
};
using Model = std::unique_ptr<bn_model, Deleter<bn_model, bn_model_free>>;
using Context = std::unique_ptr<bn_ctx, Deleter<bn_ctx, bn_ctx_free>>;
using Sampler = std::unique_ptr<bn_sampler, Deleter<bn_sampler, bn_sampler_free>>;
using TextStream = std::unique_ptr<bn_text_stream, Deleter<bn_text_stream, bn_text_stream_free>>;

// A failed call becomes an exception carrying the library's message.
void check(int rc, const char *what)
{
    if (rc != BN_OK)
        throw std::runtime_error(std::string(what) + ": " + bn_strerror(rc) + ": " +
                                 bn_last_error());
}

Model load(const char *path)
{
    bn_model_params p;
    bn_model_params_default(&p);
    bn_model *m = nullptr;
    check(bn_model_load(&m, path, &p), "bn_model_load");
    return Model(m);
}

Context new_context(bn_model *m, int32_t n_ctx)
{
    bn_ctx_params p;
    bn_ctx_params_default(&p);
    p.n_ctx = n_ctx;
    bn_ctx *c = nullptr;
    check(bn_ctx_new(&c, m, &p), "bn_ctx_new");
    return Context(c);
}

Sampler greedy_sampler(const bn_model *m)
{
    bn_sampler_params p;
    bn_sampler_params_default(&p);
    p.temperature = 0.0f;
    bn_sampler *s = nullptr;
    check(bn_sampler_new(&s, m, &p), "bn_sampler_new");
    return Sampler(s);
}

TextStream new_stream(const bn_model *m)
{
    bn_text_stream *s = nullptr;
    check(bn_text_stream_new(&s, m, nullptr, 0), "bn_text_stream_new");
    return TextStream(s);
}

std::vector<bn_token> tokenize(const bn_model *m, const std::string &text)
{
    size_t n = 0;
    int rc = bn_tokenize(m, text.data(), text.size(), nullptr, 0, BN_TOKENIZE_ADD_SPECIAL, &n);
    std::vector<bn_token> tokens(n);
    if (rc == BN_E_RANGE)
        rc = bn_tokenize(m, text.data(), text.size(), tokens.data(), tokens.size(),
                         BN_TOKENIZE_ADD_SPECIAL, &n);
    check(rc, "bn_tokenize");
    return tokens;
}

}  // namespace

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS]\n", argv[0]);
        return 2;
    }
    const std::string prompt = argc > 2 ? argv[2] : "And God said";
    const int n_predict = argc > 3 ? std::atoi(argv[3]) : 40;
    try {
        // Declared in the order of their dependencies: destroyed in reverse,
        // so the model is freed last, after everything made on it.
        Model model = load(argv[1]);
        Context ctx = new_context(model.get(), 128);
        Sampler sampler = greedy_sampler(model.get());
        TextStream stream = new_stream(model.get());

        std::vector<bn_token> tokens = tokenize(model.get(), prompt);
        check(bn_decode(ctx.get(), tokens.data(), tokens.size()), "bn_decode");
        std::fputs(prompt.c_str(), stdout);
        for (int i = 0; i < n_predict && bn_ctx_pos(ctx.get()) < bn_ctx_n_ctx(ctx.get()); i++) {
            bn_token next;
            check(bn_sampler_sample(sampler.get(), bn_ctx_logits(ctx.get()), &next),
                  "bn_sampler_sample");
            const char *text;
            size_t len;
            int stopped;
            check(bn_text_stream_push(stream.get(), next, &text, &len, &stopped),
                  "bn_text_stream_push");
            if (stopped)
                break;
            std::fwrite(text, 1, len, stdout);
            check(bn_decode(ctx.get(), &next, 1), "bn_decode");
        }
        const char *rest;
        size_t len;
        check(bn_text_stream_flush(stream.get(), &rest, &len), "bn_text_stream_flush");
        std::fwrite(rest, 1, len, stdout);
        std::fputc('\n', stdout);
    } catch (const std::exception &e) {
        // every handle made so far has been freed by now
        std::fprintf(stderr, "raii: %s\n", e.what());
        return 1;
    }
    return 0;
}
