package io.msm.bpf.maps;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * struct msm_group_info: what a fan-out group is for (a label the agent writes for 'msm fanout').
 */
public record GroupInfo(String label) {
    public static final int LABEL_LEN = 64;
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_group_info", LABEL_LEN).member("label", 0, LABEL_LEN).build();
    private static final int LABEL = LAYOUT.bytes("label", LABEL_LEN);
    public static final GroupInfo NONE = new GroupInfo("");

    public static final Codec<GroupInfo> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, GroupInfo g) {
                    byte[] s =
                            g.label == null
                                    ? new byte[0]
                                    : g.label.getBytes(StandardCharsets.UTF_8);
                    int n = Math.min(s.length, LABEL_LEN - 1);
                    for (int i = 0; i < LABEL_LEN; i++) {
                        b.put(off + LABEL + i, i < n ? s[i] : 0);
                    }
                }

                @Override
                public GroupInfo read(ByteBuffer b, int off) {
                    int n = 0;
                    while (n < LABEL_LEN && b.get(off + LABEL + n) != 0) {
                        n++;
                    }
                    byte[] s = new byte[n];
                    for (int i = 0; i < n; i++) {
                        s[i] = b.get(off + LABEL + i);
                    }
                    return new GroupInfo(new String(s, StandardCharsets.UTF_8));
                }
            };
}
