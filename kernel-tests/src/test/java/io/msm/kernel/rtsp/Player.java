package io.msm.kernel.rtsp;

import io.msm.testkit.Netns;
import io.msm.testkit.Sh;
import io.msm.testkit.Timeouts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real RTSP player (ffmpeg or GStreamer) started in a viewer namespace, decoding H.264 and
 * counting the frames it decoded. Stopped by PID only: SIGINT first (gst-launch -e then flushes
 * what it printed), SIGKILL if it does not go.
 */
final class Player implements AutoCloseable {
    enum Kind {
        FFMPEG_UDP("ffmpeg/udp"),
        FFMPEG_TCP("ffmpeg/tcp"),
        GST_UDP("gst/udp"),
        GST_TCP("gst/tcp");

        final String label;

        Kind(String label) {
            this.label = label;
        }

        boolean tcp() {
            return this == FFMPEG_TCP || this == GST_TCP;
        }

        boolean gst() {
            return this == GST_UDP || this == GST_TCP;
        }
    }

    /**
     * ffmpeg publishing a 320x240, 25 fps H.264 test pattern (a key frame a second) to {@code url}
     * in real time, RTP over {@code transport} ("udp" or "tcp"): the publisher of the player
     * suites.
     */
    static List<String> ffmpegTestPublisher(String transport, String url) {
        return List.of(
                "ffmpeg",
                "-hide_banner",
                "-nostdin",
                "-loglevel",
                "warning",
                "-re",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
                "-g",
                "25",
                "-f",
                "rtsp",
                "-rtsp_transport",
                transport,
                url);
    }

    /** {@code cmd} run in {@code ns} ("ip netns exec"). */
    static List<String> inNamespace(Netns ns, List<String> cmd) {
        List<String> all = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        all.addAll(cmd);
        return all;
    }

    private static final Pattern FFMPEG_FRAME = Pattern.compile("(?m)^frame=(\\d+)$");

    final Kind kind;
    final String where;
    private final Process process;
    private final Path out;
    private final Path progress;

    private Player(Kind kind, String where, Process process, Path out, Path progress) {
        this.kind = kind;
        this.where = where;
        this.process = process;
        this.out = out;
        this.progress = progress;
    }

    /**
     * Start decoding {@code url}; ffmpeg stops by itself after {@code seconds} of media, gst-launch
     * runs until {@link #stop()}.
     */
    static Player start(Kind kind, Netns ns, String url, int seconds) throws IOException {
        return start(kind, ns, url, seconds, List.of());
    }

    /**
     * The same with more options: rtspsrc properties for gst ({@code tls-validation-flags=0}),
     * input options for ffmpeg ({@code -tls_verify 0}).
     */
    static Player start(Kind kind, Netns ns, String url, int seconds, List<String> extra)
            throws IOException {
        Path out = Files.createTempFile("msm-player-", ".log");
        Path progress = Files.createTempFile("msm-player-", ".progress");
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", ns.name()));
        if (kind.gst()) {
            cmd.addAll(
                    List.of(
                            "gst-launch-1.0",
                            "-e",
                            "-v",
                            "rtspsrc",
                            "location=" + url,
                            "protocols=" + (kind.tcp() ? "tcp" : "udp"),
                            "latency=200"));
            cmd.addAll(extra);
            cmd.addAll(
                    List.of(
                            "!",
                            "rtph264depay",
                            "!",
                            "h264parse",
                            "!",
                            "avdec_h264",
                            "!",
                            "fakesink",
                            "name=out",
                            "silent=false",
                            "sync=false"));
        } else {
            cmd.addAll(
                    List.of(
                            "ffmpeg",
                            "-hide_banner",
                            "-nostdin",
                            "-loglevel",
                            "warning",
                            "-rtsp_transport",
                            kind.tcp() ? "tcp" : "udp"));
            cmd.addAll(extra);
            cmd.addAll(
                    List.of(
                            "-i",
                            url,
                            "-t",
                            Integer.toString(seconds),
                            "-progress",
                            progress.toString(),
                            "-f",
                            "null",
                            "-"));
        }
        Process p =
                new ProcessBuilder(cmd)
                        .redirectErrorStream(true)
                        .redirectOutput(out.toFile())
                        .start();
        return new Player(kind, ns.name(), p, out, progress);
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Frames decoded so far (ffmpeg's progress report; gst: buffers that reached the sink). */
    int frames() {
        try {
            if (kind.gst()) {
                int n = 0;
                for (String l : Files.readAllLines(out)) {
                    if (l.contains("GstFakeSink:out: last-message = chain")) {
                        n++;
                    }
                }
                return n;
            }
            Matcher m = FFMPEG_FRAME.matcher(Files.readString(progress));
            int last = 0;
            while (m.find()) {
                last = Integer.parseInt(m.group(1));
            }
            return last;
        } catch (IOException e) {
            return 0;
        }
    }

    /** Wait for the process to end by itself. */
    /** Wait for the player to end by itself, at most ms (scaled, {@link Timeouts}). */
    boolean waitFor(long ms) throws InterruptedException {
        return process.waitFor(Timeouts.ms(ms), TimeUnit.MILLISECONDS);
    }

    void stop() throws InterruptedException {
        if (process.isAlive()) {
            Sh.exec("kill", "-INT", Long.toString(process.pid()));
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                Sh.exec("kill", "-KILL", Long.toString(process.pid()));
                process.waitFor(5, TimeUnit.SECONDS);
            }
        }
    }

    String output() {
        try {
            String s = Files.readString(out);
            return s.length() > 3000 ? "..." + s.substring(s.length() - 3000) : s;
        } catch (IOException e) {
            return "(no output: " + e.getMessage() + ")";
        }
    }

    @Override
    public String toString() {
        return kind.label + "@" + where;
    }

    @Override
    public void close() throws InterruptedException {
        stop();
        try {
            Files.deleteIfExists(out);
            Files.deleteIfExists(progress);
        } catch (IOException ignored) {
            // temp files
        }
    }
}
