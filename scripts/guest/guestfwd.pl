#!/usr/bin/perl
# guestfwd.pl PORT: relays one guest connection, on stdin, to 127.0.0.1:PORT.
#
# QEMU's user network runs this once per connection the guest opens to a forwarded port
# (`guestfwd=tcp:10.0.2.100:PORT-cmd:perl guestfwd.pl PORT`, see test/helpers/guest.ts).
# libslirp hands the command its end of a loopback TCP pair whose other end, inside QEMU, has
# Nagle's algorithm on: after a request's first segment it holds the rest until that segment is
# acknowledged, and an ordinary receiver (socat) delays that ACK by up to 40 ms whenever the
# connection looks interactive, as a request/response protocol does. Every iSCSI WRITE below the
# pair's 64 KiB MSS then waited those 40 ms. Only the receiving end can undo it: quick ACKs,
# re-armed after every read because the kernel turns them off again. TCP_NODELAY on both sockets
# keeps this relay from doing the same to what it sends. Perl (perl-base, always there) because
# a relay starts per connection: python3 took 1-2 s to start on a loaded machine, perl 0.05.
use strict;
use warnings;
use Socket qw(IPPROTO_TCP TCP_NODELAY TCP_QUICKACK PF_INET SOCK_STREAM inet_aton pack_sockaddr_in);

# stderr is the guest's connection too: nothing may be printed there.
open(STDERR, '>', '/dev/null');
my $port = $ARGV[0] // exit 1;
open(my $guest, '+<&=', 0) or exit 1;
socket(my $gateway, PF_INET, SOCK_STREAM, 0) or exit 1;
connect($gateway, pack_sockaddr_in($port, inet_aton('127.0.0.1'))) or exit 1;
setsockopt($_, IPPROTO_TCP, TCP_NODELAY, 1) for $guest, $gateway;

# One process a direction: a full buffer one way never stalls the other. The gateway gone ends the
# connection for both. The guest done sending is passed on as such, and its answer still relayed:
# busybox nc (the guest's gates) sends its question, shuts its sending side and reads the answer;
# ending both directions there dropped the answer whenever the host took a few ms to give it, and
# a gate looked shut for minutes after it opened.
my $child = fork() // exit 1;
if ($child == 0) {
  pump($gateway, $guest);
  kill 'TERM', getppid();
  exit 0;
}
pump($guest, $gateway);
shutdown($gateway, 1);
waitpid($child, 0);
exit 0;

sub pump {
  my ($from, $to) = @_;
  while (1) {
    my $n = sysread($from, my $data, 262144);
    return unless $n;
    setsockopt($from, IPPROTO_TCP, TCP_QUICKACK, 1);
    my $done = 0;
    while ($done < $n) {
      my $wrote = syswrite($to, $data, $n - $done, $done);
      return unless $wrote;
      $done += $wrote;
    }
  }
}
