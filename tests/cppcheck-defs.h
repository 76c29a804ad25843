/* Definitions cppcheck needs to read the sources without the system's
 * libbpf headers (tests/run-all.sh passes it with --include). */
#define LIBBPF_OPTS(TYPE, NAME, ...) struct TYPE NAME = {__VA_ARGS__}
/* Section attribute of BPF programs (bpf/bpf_helpers.h). */
#define SEC(name)
