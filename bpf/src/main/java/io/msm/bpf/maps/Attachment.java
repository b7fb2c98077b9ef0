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

    public static final StructLayout LAYOUT =
            StructLayout.of(
                    "msm_attachment",
                    40,
                    "flags",
                    0,
                    "tc_handle",
                    4,
                    "tc_priority",
                    8,
                    "tc_prog_id",
                    12,
                    "xdp_prog_id",
                    16,
                    "pad",
                    20,
                    "ifname",
                    24);

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
                    b.putInt(off, a.flags);
                    b.putInt(off + 4, a.tcHandle);
                    b.putInt(off + 8, a.tcPriority);
                    b.putInt(off + 12, a.tcProgId);
                    b.putInt(off + 16, a.xdpProgId);
                    b.putInt(off + 20, 0);
                    byte[] n =
                            a.ifname == null
                                    ? new byte[0]
                                    : a.ifname.getBytes(StandardCharsets.US_ASCII);
                    for (int i = 0; i < 16; i++) {
                        b.put(off + 24 + i, i < n.length && i < 15 ? n[i] : 0);
                    }
                }

                @Override
                public Attachment read(ByteBuffer b, int off) {
                    byte[] n = new byte[16];
                    int len = 0;
                    for (int i = 0; i < 16; i++) {
                        n[i] = b.get(off + 24 + i);
                        if (n[i] != 0 && len == i) {
                            len++;
                        }
                    }
                    return new Attachment(
                            b.getInt(off),
                            b.getInt(off + 4),
                            b.getInt(off + 8),
                            b.getInt(off + 12),
                            b.getInt(off + 16),
                            new String(n, 0, len, StandardCharsets.US_ASCII));
                }
            };
}
