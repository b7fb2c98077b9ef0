package io.msm.bpf.maps;

import java.nio.ByteBuffer;

/**
 * Encodes a Java value to the bytes of a C struct and back. Buffers are in native byte order
 * (little endian on x86-64/arm64, as the kernel stores map data); offsets are absolute so one
 * buffer can hold a batch of elements.
 */
public interface Codec<T> {
    /** sizeof() of the C struct. */
    int size();

    void write(ByteBuffer b, int off, T value);

    T read(ByteBuffer b, int off);

    /** u32 keys and values (array indexes, counters). */
    Codec<Integer> U32 =
            new Codec<>() {
                @Override
                public int size() {
                    return 4;
                }

                @Override
                public void write(ByteBuffer b, int off, Integer v) {
                    b.putInt(off, v);
                }

                @Override
                public Integer read(ByteBuffer b, int off) {
                    return b.getInt(off);
                }
            };

    /** u64 values. */
    Codec<Long> U64 =
            new Codec<>() {
                @Override
                public int size() {
                    return 8;
                }

                @Override
                public void write(ByteBuffer b, int off, Long v) {
                    b.putLong(off, v);
                }

                @Override
                public Long read(ByteBuffer b, int off) {
                    return b.getLong(off);
                }
            };

    /** u8 values. */
    Codec<Byte> U8 =
            new Codec<>() {
                @Override
                public int size() {
                    return 1;
                }

                @Override
                public void write(ByteBuffer b, int off, Byte v) {
                    b.put(off, v);
                }

                @Override
                public Byte read(ByteBuffer b, int off) {
                    return b.get(off);
                }
            };
}
