package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.nio.ByteBuffer;

/** struct msm_icpt_key: a destination port (host order) whose TCP connects are intercepted. */
public record InterceptKey(int port, int proto) {
    public static final int IPPROTO_TCP = 6;

    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_icpt_key", 4)
                    .u16("port", 0)
                    .u8("proto", 2)
                    .pad("pad", 3, 1)
                    .build();
    private static final int PORT = LAYOUT.u16("port");
    private static final int PROTO = LAYOUT.u8("proto");
    private static final int PAD = LAYOUT.u8("pad");

    public static InterceptKey tcp(int port) {
        return new InterceptKey(port, IPPROTO_TCP);
    }

    public static final Codec<InterceptKey> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, InterceptKey k) {
                    b.putShort(off + PORT, (short) k.port);
                    b.put(off + PROTO, (byte) k.proto);
                    b.put(off + PAD, (byte) 0); // keys are compared bytewise: padding too
                }

                @Override
                public InterceptKey read(ByteBuffer b, int off) {
                    return new InterceptKey(
                            b.getShort(off + PORT) & 0xffff, b.get(off + PROTO) & 0xff);
                }
            };
}
