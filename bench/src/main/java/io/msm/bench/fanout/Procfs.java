package io.msm.bench.fanout;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Reads /proc and /sys files whole (their sizes are not known in advance). */
public final class Procfs {
    private Procfs() {}

    static String read(String path) {
        try (FileInputStream in = new FileInputStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + path + ": " + e.getMessage(), e);
        }
    }

    static String readOr(String path, String fallback) {
        try (FileInputStream in = new FileInputStream(path)) {
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return fallback;
        }
    }

    static long readLong(String path) {
        return Long.parseLong(read(path).trim());
    }
}
