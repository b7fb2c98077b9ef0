package io.msm.bpf.libbpf;

import jnr.ffi.Pointer;
import jnr.ffi.annotations.Delegate;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.byref.IntByReference;
import jnr.ffi.types.size_t;

/**
 * The part of the system libbpf (Debian {@code libbpf1}, 1.1+) msm calls, bound with jnr-ffi.
 * Functions return 0 or a negative errno (libbpf 1.x semantics); pointer-returning functions return
 * null and set errno.
 *
 * <p>Structs passed by pointer ({@code bpf_tc_hook}, {@code bpf_tc_opts}, {@code
 * bpf_test_run_opts}, ...) are laid out by hand in {@link Opts}.
 */
public interface LibBpf {
    // --- objects ---------------------------------------------------------
    Pointer bpf_object__open_mem(@In Pointer objBuf, @size_t long size, @In Pointer opts);

    int bpf_object__load(Pointer obj);

    void bpf_object__close(Pointer obj);

    Pointer bpf_object__find_program_by_name(Pointer obj, String name);

    Pointer bpf_object__find_map_by_name(Pointer obj, String name);

    Pointer bpf_object__next_map(Pointer obj, Pointer prev);

    Pointer bpf_object__next_program(Pointer obj, Pointer prev);

    // --- maps of an object -------------------------------------------------
    String bpf_map__name(Pointer map);

    int bpf_map__fd(Pointer map);

    int bpf_map__type(Pointer map);

    int bpf_map__key_size(Pointer map);

    int bpf_map__value_size(Pointer map);

    int bpf_map__max_entries(Pointer map);

    int bpf_map__set_max_entries(Pointer map, int maxEntries);

    int bpf_map__reuse_fd(Pointer map, int fd);

    int bpf_map__pin(Pointer map, String path);

    // --- programs of an object --------------------------------------------
    String bpf_program__name(Pointer prog);

    int bpf_program__fd(Pointer prog);

    int bpf_program__pin(Pointer prog, String path);

    int bpf_program__set_log_level(Pointer prog, int level);

    int bpf_program__set_log_buf(Pointer prog, Pointer buf, @size_t long size);

    int bpf_program__set_autoload(Pointer prog, boolean autoload);

    // --- raw objects by fd / pin --------------------------------------------
    int bpf_obj_get(String path);

    int bpf_obj_pin(int fd, String path);

    int bpf_obj_get_info_by_fd(int fd, @Out Pointer info, @In @Out Pointer infoLen);

    int bpf_prog_get_fd_by_id(int id);

    int bpf_map_get_fd_by_id(int id);

    // --- map elements ---------------------------------------------------------
    int bpf_map_lookup_elem(int fd, @In Pointer key, @Out Pointer value);

    int bpf_map_update_elem(int fd, @In Pointer key, @In Pointer value, long flags);

    int bpf_map_delete_elem(int fd, @In Pointer key);

    int bpf_map_get_next_key(int fd, @In Pointer key, @Out Pointer nextKey);

    int bpf_map_lookup_and_delete_elem(int fd, @In Pointer key, @Out Pointer value);

    int bpf_map_lookup_batch(
            int fd,
            Pointer inBatch,
            Pointer outBatch,
            Pointer keys,
            Pointer values,
            Pointer count,
            Pointer opts);

    int bpf_map_delete_batch(int fd, @In Pointer keys, Pointer count, Pointer opts);

    // --- test runs ---------------------------------------------------------------
    int bpf_prog_test_run_opts(int progFd, Pointer opts);

    // --- TC (netlink clsact) ---------------------------------------------------
    int bpf_tc_hook_create(Pointer hook);

    int bpf_tc_hook_destroy(Pointer hook);

    int bpf_tc_attach(Pointer hook, Pointer opts);

    int bpf_tc_detach(Pointer hook, Pointer opts);

    int bpf_tc_query(Pointer hook, Pointer opts);

    // --- XDP ---------------------------------------------------------------------
    int bpf_xdp_attach(int ifindex, int progFd, int flags, Pointer opts);

    int bpf_xdp_detach(int ifindex, int flags, Pointer opts);

    int bpf_xdp_query_id(int ifindex, int flags, IntByReference progId);

    // --- links (cgroup hooks) ---------------------------------------------------
    int bpf_link_create(int progFd, int targetFd, int attachType, Pointer opts);

    int bpf_link_update(int linkFd, int newProgFd, Pointer opts);

    int bpf_link_detach(int linkFd);

    // --- BTF ---------------------------------------------------------------------
    Pointer btf__parse(String path, Pointer btfExt);

    void btf__free(Pointer btf);

    int btf__find_by_name_kind(Pointer btf, String name, int kind);

    Pointer btf__type_by_id(Pointer btf, int id);

    String btf__name_by_offset(Pointer btf, int offset);

    long btf__resolve_size(Pointer btf, int id);

    int btf__resolve_type(Pointer btf, int id);

    int btf__type_cnt(Pointer btf);

    // --- logging -------------------------------------------------------------------
    /** int (*)(enum libbpf_print_level level, const char *fmt, va_list args) */
    interface PrintFn {
        @Delegate
        int print(int level, Pointer fmt, Pointer args);
    }

    Pointer libbpf_set_print(PrintFn fn);

    // --- misc ----------------------------------------------------------------------
    int libbpf_num_possible_cpus();

    int libbpf_strerror(int err, Pointer buf, @size_t long size);
}
