package io.msm.agent.rtsp.wire;

/**
 * Input the decoder could not accept: the connection answers {@code status} (400, 413, 505) and,
 * when {@code close} is set (the message boundary is lost), closes.
 *
 * @param cseq the CSeq if one could be read, to echo
 */
public record MalformedMessage(int status, String why, String cseq, boolean close)
        implements RtspMessage {}
