package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** struct msm_attachment: what msm attached to one interface (pinned bookkeeping). */
public record Attachment(
        int flags, int tcHandle, int tcPriority, int tcProgId, int xdpProgId, String ifname) {
    public static final int F_TC = 1;
    public static final int F_TC_QDISC = 2;
    public static final int F_XDP = 4;
    public static final int F_XDP_GENERIC = 8;

    private static final int IFNAME_LEN = 16;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_attachment", 40)
                    .u32("flags", 0)
                    .u32("tc_handle", 4)
                    .u32("tc_priority", 8)
                    .u32("tc_prog_id", 12)
                    .u32("xdp_prog_id", 16)
                    .pad("pad", 20, 4)
                    .member("ifname", 24, IFNAME_LEN)
                    .build();
    private static final int FLAGS = LAYOUT.u32("flags");
    private static final int TC_HANDLE = LAYOUT.u32("tc_handle");
    private static final int TC_PRIORITY = LAYOUT.u32("tc_priority");
    private static final int TC_PROG_ID = LAYOUT.u32("tc_prog_id");
    private static final int XDP_PROG_ID = LAYOUT.u32("xdp_prog_id");
    private static final int PAD = LAYOUT.u32("pad");
    private static final int IFNAME = LAYOUT.bytes("ifname", IFNAME_LEN);

    public boolean has(int flag) {
        return (flags & flag) != 0;
    }

    public Attachment withFlags(int f) {
        return new Attachment(f, tcHandle, tcPriority, tcProgId, xdpProgId, ifname);
    }

    public static final Codec<Attachment> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, Attachment a) {
                    b.putInt(off + FLAGS, a.flags);
                    b.putInt(off + TC_HANDLE, a.tcHandle);
                    b.putInt(off + TC_PRIORITY, a.tcPriority);
                    b.putInt(off + TC_PROG_ID, a.tcProgId);
                    b.putInt(off + XDP_PROG_ID, a.xdpProgId);
                    b.putInt(off + PAD, 0);
                    byte[] n =
                            a.ifname == null
                                    ? new byte[0]
                                    : a.ifname.getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < IFNAME_LEN; i++) {
                        b.put(off + IFNAME + i, i < n.length && i < IFNAME_LEN - 1 ? n[i] : 0);
                    }
                }

                @Override
                public Attachment read(ByteBuffer b, int off) {
                    byte[] n = new byte[IFNAME_LEN];
                    int len = 0;
                    for (int i = 0; i < IFNAME_LEN; i++) {
                        n[i] = b.get(off + IFNAME + i);
                        if (n[i] != 0 && len == i) {
                            len++;
                        }
                    }
                    return new Attachment(
                            b.getInt(off + FLAGS),
                            b.getInt(off + TC_HANDLE),
                            b.getInt(off + TC_PRIORITY),
                            b.getInt(off + TC_PROG_ID),
                            b.getInt(off + XDP_PROG_ID),
                            new String(n, 0, len, StandardCharsets.US_ASCII));
                }
            };
}
