package io.msm.bpf.intercept;

import io.msm.bpf.maps.Codec;
import io.msm.bpf.maps.StructLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/** struct msm_icpt_orig: where a redirected socket was heading (by socket cookie). */
public record InterceptOrig(InetSocketAddress destination) {
    public static final StructLayout LAYOUT =
            StructLayout.struct("msm_icpt_orig", 8)
                    .u32("addr", 0)
                    .u16("port", 4)
                    .pad("pad", 6, 2)
                    .build();
    private static final int ADDR = LAYOUT.u32("addr");
    private static final int PORT = LAYOUT.u16("port");
    private static final int PAD = LAYOUT.u16("pad");

    public static final Codec<InterceptOrig> CODEC =
            new Codec<>() {
                @Override
                public int size() {
                    return LAYOUT.size();
                }

                @Override
                public void write(ByteBuffer b, int off, InterceptOrig o) {
                    b.put(off + ADDR, o.destination.getAddress().getAddress(), 0, 4);
                    b.putShort(off + PORT, (short) o.destination.getPort());
                    b.putShort(off + PAD, (short) 0);
                }

                @Override
                public InterceptOrig read(ByteBuffer b, int off) {
                    byte[] a = new byte[4];
                    b.get(off + ADDR, a, 0, 4);
                    try {
                        return new InterceptOrig(
                                new InetSocketAddress(
                                        InetAddress.getByAddress(a),
                                        b.getShort(off + PORT) & 0xffff));
                    } catch (UnknownHostException e) {
                        throw new IllegalStateException(e);
                    }
                }
            };
}
