#!/usr/bin/perl
# A pod's RTSP client for the interception tests: connect to HOST:PORT, say
# what getpeername() answers, send OPTIONS URL and print the status line.
# Output lines: "peer=ADDR:PORT", "reply=STATUS LINE", or "connect-failed: ERR".
# Perl because perl-base is on every Debian system and calls getpeername(2)
# itself (the JDK answers the remote address from its own memory).
use strict;
use warnings;
use Socket;

my ($host, $port, $url) = @ARGV;
$| = 1;
$SIG{ALRM} = sub { print "timeout\n"; exit 3 };
alarm 10;
socket(my $s, PF_INET, SOCK_STREAM, 6) or die "socket: $!";
unless (connect($s, sockaddr_in($port, inet_aton($host)))) {
    print "connect-failed: $!\n";
    exit 2;
}
my ($pport, $paddr) = sockaddr_in(getpeername($s));
print "peer=" . inet_ntoa($paddr) . ":$pport\n";
syswrite($s, "OPTIONS $url RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: msm-pod-client\r\n\r\n");
my $buf = '';
while ($buf !~ /\r\n\r\n/) {
    my $n = sysread($s, $buf, 4096, length $buf);
    last unless $n;
}
my ($line) = split /\r\n/, $buf;
print "reply=" . (defined $line ? $line : '') . "\n";
close($s);
