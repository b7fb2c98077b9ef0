package io.msm.cli.source;

/** How full a map is: entries present out of max_entries. */
public record MapFill(String map, long entries, long maxEntries) {
    public double percent() {
        return maxEntries == 0 ? 0 : 100.0 * entries / maxEntries;
    }
}
