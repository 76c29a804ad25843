/* Definitions cppcheck needs to read the sources without the system's
 * libbpf headers (tests/run-all.sh passes it with --include). */
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = {__VA_ARGS__}
/* Section attribute of BPF programs (bpf/bpf_helpers.h). */
#define SEC(name)
/* libxdp's options (xdp/libxdp.h); the sources are checked as built with
 * libxdp (-DHAVE_LIBXDP), as CI builds them. */
#define DECLARE_LIBXDP_OPTS(TYPE, NAME, ...) struct TYPE NAME = {__VA_ARGS__}
