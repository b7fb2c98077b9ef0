package io.msm.bpf.attach;

/** How an XDP program is attached. */
public enum XdpMode {
    /** In the driver (veth, most NICs); fastest. */
    NATIVE(4),
    /** On the skb after allocation; works on every device. */
    GENERIC(2),
    /** Native where the driver supports it, else generic. */
    AUTO(0);

    private final int flag;

    XdpMode(int flag) {
        this.flag = flag;
    }

    /** XDP_FLAGS_*_MODE bit. */
    public int flag() {
        return flag;
    }
}
