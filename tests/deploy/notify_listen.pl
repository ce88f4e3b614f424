#!/usr/bin/perl
# notify_listen.pl SOCKET OUT: a stand-in for systemd's notification socket.
# Binds a Unix datagram socket at SOCKET and appends each datagram to OUT as
# one line, "SECONDS.MICROS MESSAGE", the message's newlines shown as '|'.
# Prints "listening" on stdout once bound. Runs until killed.
use strict;
use warnings;
use IO::Handle;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time);

my ($path, $file) = @ARGV;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
    or die "bind $path: $!";
open(my $out, '>>', $file) or die "$file: $!";
$out->autoflush(1);
STDOUT->autoflush(1);
print "listening\n";
while (1) {
	my $buf;
	defined($s->recv($buf, 65536)) or die "recv: $!";
	$buf =~ s/\n/|/g;
	printf $out "%.6f %s\n", time, $buf;
}
