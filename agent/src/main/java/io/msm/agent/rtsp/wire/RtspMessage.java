package io.msm.agent.rtsp.wire;

/** What the decoder produces from an RTSP connection's byte stream. */
public sealed interface RtspMessage
        permits RtspRequest, RtspResponse, InterleavedFrame, MalformedMessage {}
