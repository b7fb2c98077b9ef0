package io.msm.bench.jmh;

import io.msm.agent.rtsp.wire.RtspRequest;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.rtsp.RtspDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * RTSP request parsing: the bytes of one request in, the parsed request (method, URI, headers) out
 * — the per-request cost of the RTSP proxy's front end, on representative requests from a camera
 * session.
 *
 * <p>Two parsers, each in an EmbeddedChannel so both pay the same pipeline overhead: {@code msm} is
 * the proxy's own decoder (io.msm.agent.rtsp.wire.RtspDecoder, with the agent's default bounds),
 * {@code netty} is Netty's RtspDecoder for reference. Another parser is one more {@link RtspParser}
 * named in {@code @Param parser}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RtspParsing {
    static final Map<String, String> REQUESTS =
            Map.of(
                    "options",
                            "OPTIONS rtsp://10.0.0.5:8554/cam1 RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: LibVLC/3.0.18 (LIVE555"
                                    + " Streaming Media v2016.11.28)\r\n\r\n",
                    "describe",
                            "DESCRIBE rtsp://10.0.0.5:8554/cam1 RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: LibVLC/3.0.18 (LIVE555"
                                    + " Streaming Media v2016.11.28)\r\nAccept: application/sdp\r\n\r\n",
                    "setup",
                            "SETUP rtsp://10.0.0.5:8554/cam1/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nUser-Agent: LibVLC/3.0.18"
                                    + " (LIVE555 Streaming Media v2016.11.28)\r\nTransport: RTP/AVP;unicast;client_port=50000-50001\r\n\r\n",
                    "play",
                            "PLAY rtsp://10.0.0.5:8554/cam1/ RTSP/1.0\r\nCSeq: 5\r\nUser-Agent: LibVLC/3.0.18 (LIVE555"
                                    + " Streaming Media v2016.11.28)\r\nSession: 6B8B4567\r\nRange: npt=0.000-\r\n\r\n");

    /** A parser under test: bytes of one complete request in, the request out. */
    interface RtspParser extends AutoCloseable {
        Object parse(ByteBuf request);

        @Override
        void close();
    }

    /**
     * A decoder in an EmbeddedChannel (no network); the first message of the expected type is the
     * result.
     */
    static final class ChannelParser implements RtspParser {
        private final EmbeddedChannel ch;
        private final Class<?> type;

        ChannelParser(ChannelHandler decoder, Class<?> type) {
            this.ch = new EmbeddedChannel(decoder);
            this.type = type;
        }

        @Override
        public Object parse(ByteBuf request) {
            ch.writeInbound(request);
            Object first = null;
            Object m;
            while ((m = ch.readInbound()) != null) {
                if (first == null && type.isInstance(m)) {
                    first = m;
                }
                ReferenceCountUtil.release(m);
            }
            if (first == null) {
                throw new IllegalStateException(
                        type.getSimpleName() + " expected, the decoder produced none");
            }
            return first;
        }

        @Override
        public void close() {
            ch.finishAndReleaseAll();
        }
    }

    @Param({"msm", "netty"})
    public String parser;

    @Param({"options", "describe", "setup", "play"})
    public String request;

    private ByteBuf bytes;
    private RtspParser impl;

    @Setup(Level.Trial)
    public void setUp() {
        bytes =
                Unpooled.unreleasableBuffer(
                        Unpooled.directBuffer()
                                .writeBytes(
                                        REQUESTS.get(request).getBytes(StandardCharsets.US_ASCII)));
        impl =
                switch (parser) {
                    case "msm" ->
                            new ChannelParser(
                                    new io.msm.agent.rtsp.wire.RtspDecoder(8192, 65536),
                                    RtspRequest.class);
                    case "netty" -> new ChannelParser(new RtspDecoder(), HttpRequest.class);
                    default -> throw new IllegalArgumentException("unknown parser " + parser);
                };
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        impl.close();
    }

    @Benchmark
    public Object parse() {
        return impl.parse(bytes.duplicate());
    }
}
