package io.msm.cli.source;

import java.util.List;

/**
 * What a bpffs directory holds, looked at as files (works when the pins cannot be opened).
 *
 * @param dirExists the directory exists
 * @param accessDenied this user may not look into it
 * @param onBpffs it lies on a mounted bpf filesystem
 * @param present expected pins that exist
 * @param missing expected pins that do not
 */
public record PinScan(
        boolean dirExists,
        boolean accessDenied,
        boolean onBpffs,
        List<String> present,
        List<String> missing) {
    public boolean complete() {
        return dirExists && missing.isEmpty();
    }
}
