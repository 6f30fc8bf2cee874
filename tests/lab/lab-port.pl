#!/usr/bin/perl
# lab-port.pl - reserve a free TCP port on 127.0.0.1 for one test.
#
# usage: lab-port.pl RESERVATION_DIR OWNER_PID
#
# Prints one port number.  The port is free at run time (a test bind on
# 127.0.0.1 succeeds, so no listener on 127.0.0.1, 0.0.0.0 or [::] holds it)
# and reserved for OWNER_PID: RESERVATION_DIR/<port> is created with mkdir
# (atomic), holding "PID STARTTIME" of the owner.  Tests running at the same
# time therefore never get the same port even before their daemons bind.
# The owner removes its reservations when it ends (lab.sh's cleanup); a
# reservation whose owner process is gone is reclaimed here.
#
# Ports come from below the kernel's ephemeral range
# (/proc/sys/net/ipv4/ip_local_port_range), so outgoing connections of other
# programs never take a reserved port in the window before the daemon binds.
#
# Exit status: 0 with a port printed; 1 with a message on stderr.
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM SOL_SOCKET SO_REUSEADDR inet_aton pack_sockaddr_in);

sub starttime {
    my ($pid) = @_;
    open(my $fh, '<', "/proc/$pid/stat") or return undef;
    my $stat = <$fh>;
    close $fh;
    # Field 2 (comm) may contain spaces: split after the last ')'.
    $stat =~ s/^.*\)\s+//s or return undef;
    my @f = split /\s+/, $stat;
    return undef if $f[0] eq 'Z';
    return $f[19];    # field 22 of the whole line
}

sub owner_alive {
    my ($dir) = @_;
    # No owner file: being created right now, or its creator died at once.
    open(my $fh, '<', "$dir/owner") or return -M $dir < 60 / 86400;
    my $line = <$fh> // '';
    close $fh;
    my ($pid, $start) = split ' ', $line;
    return 1 unless defined $start;
    my $now = starttime($pid);
    return defined $now && $now eq $start;
}

sub bindable {
    my ($port) = @_;
    socket(my $s, PF_INET, SOCK_STREAM, 0) or return 0;
    setsockopt($s, SOL_SOCKET, SO_REUSEADDR, 0);
    my $ok = bind($s, pack_sockaddr_in($port, inet_aton('127.0.0.1')));
    close $s;
    return $ok;
}

my ($resdir, $owner) = @ARGV;
die "usage: lab-port.pl RESERVATION_DIR OWNER_PID\n" unless defined $owner;
my $owner_start = starttime($owner);
die "lab-port.pl: owner $owner is not running\n" unless defined $owner_start;

my ($eph_lo) = (20000);
if (open(my $fh, '<', '/proc/sys/net/ipv4/ip_local_port_range')) {
    ($eph_lo) = split ' ', scalar <$fh>;
    close $fh;
}
my ($lo, $hi) = (10000, $eph_lo - 1);
($lo, $hi) = (1024, 65535) if $hi - $lo < 1000;

for (1 .. 5000) {
    my $port = $lo + int(rand($hi - $lo + 1));
    my $dir  = "$resdir/$port";
    if (!mkdir($dir, 0755)) {
        next unless -d $dir;
        next if owner_alive($dir);
        # Stale: the owner died without cleaning up.  Reclaim it by rename
        # so two reclaimers cannot both win.
        my $tomb = "$dir.stale.$$";
        rename($dir, $tomb) or next;
        unlink "$tomb/owner";
        rmdir $tomb;
        next;
    }
    if (!bindable($port)) {
        rmdir $dir;
        next;
    }
    open(my $fh, '>', "$dir/owner") or die "lab-port.pl: $dir/owner: $!\n";
    print $fh "$owner $owner_start\n";
    close $fh or die "lab-port.pl: $dir/owner: $!\n";
    print "$port\n";
    exit 0;
}
die "lab-port.pl: no free port in $lo-$hi after 5000 tries\n";
