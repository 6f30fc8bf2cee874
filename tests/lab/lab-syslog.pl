#!/usr/bin/perl
# lab-syslog.pl - a private syslog listener for one daemon of one test.
#
# usage: lab-syslog.pl SOCKET LOGFILE
#
# Binds a datagram UNIX socket at SOCKET (mode 0666: daemons log after
# dropping privileges) and appends every message to LOGFILE, one line each,
# with the "<PRI>" prefix turned into "facility.severity" so a test can tell
# mail.info from auth.err.  lab.sh starts one per daemon that logs only to
# syslog (Sendmail, libsasl inside Exim, saslauthd's children) and makes it
# that daemon's /dev/log inside a private mount namespace (lab-nsexec.sh), so
# parallel tests never share a /dev/log.  Runs in the foreground until
# SIGTERM, then removes SOCKET.  Exit status 1 if SOCKET cannot be bound.
use strict;
use warnings;
use IO::Handle;
use Socket qw(PF_UNIX SOCK_DGRAM pack_sockaddr_un);

my ($path, $logfile) = @ARGV;
die "usage: lab-syslog.pl SOCKET LOGFILE\n" unless defined $logfile;

my @fac = qw(kern user mail daemon auth syslog lpr news uucp cron authpriv
  ftp ntp audit alert clock local0 local1 local2 local3 local4 local5 local6
  local7);
my @sev = qw(emerg alert crit err warning notice info debug);

open(my $log, '>>', $logfile) or die "lab-syslog.pl: $logfile: $!\n";
$log->autoflush(1);

unlink $path;
socket(my $sock, PF_UNIX, SOCK_DGRAM, 0) or die "lab-syslog.pl: socket: $!\n";
bind($sock, pack_sockaddr_un($path)) or die "lab-syslog.pl: bind $path: $!\n";
chmod 0666, $path;

my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
while (!$stop) {
    my $msg;
    defined(recv($sock, $msg, 65536, 0)) or next;    # EINTR on SIGTERM
    $msg =~ s/[\0\r\n]+\z//;
    $msg =~ s/\n/ /g;
    if ($msg =~ s/^<(\d{1,3})>//) {
        my $f = $fac[$1 >> 3] // "fac" . ($1 >> 3);
        $msg = "$f.$sev[$1 & 7] $msg";
    }
    print $log "$msg\n";
}
unlink $path;
exit 0;
