package io.msm.bpf.maps;

/** What the kernel says about a map (struct bpf_map_info). */
public record MapInfo(
        int type, int id, int keySize, int valueSize, int maxEntries, int flags, String name) {
    public static final int BPF_MAP_TYPE_HASH = 1;
    public static final int BPF_MAP_TYPE_ARRAY = 2;
    public static final int BPF_MAP_TYPE_PERCPU_HASH = 5;
    public static final int BPF_MAP_TYPE_PERCPU_ARRAY = 6;
    public static final int BPF_MAP_TYPE_LRU_HASH = 9;
    public static final int BPF_MAP_TYPE_LRU_PERCPU_HASH = 10;
    public static final int BPF_MAP_TYPE_LPM_TRIE = 11;
    public static final int BPF_MAP_TYPE_QUEUE = 22;

    public boolean perCpu() {
        return type == BPF_MAP_TYPE_PERCPU_ARRAY
                || type == BPF_MAP_TYPE_PERCPU_HASH
                || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    }

    public boolean isArray() {
        return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
    }
}
