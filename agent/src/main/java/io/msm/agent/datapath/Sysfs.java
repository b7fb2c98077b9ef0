package io.msm.agent.datapath;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads and writes procfs/sysfs files with one system call each: sysctl files answer only a read at
 * offset 0, which java.nio's readString does not guarantee.
 */
public final class Sysfs {
    private Sysfs() {}

    public static String read(String path) throws IOException {
        try (FileInputStream in = new FileInputStream(path)) {
            byte[] buf = new byte[65536];
            int n = in.read(buf);
            return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.US_ASCII).trim();
        }
    }

    public static void write(String path, String value) throws IOException {
        try (FileOutputStream out = new FileOutputStream(path)) {
            out.write((value + "\n").getBytes(StandardCharsets.US_ASCII));
        }
    }
}
