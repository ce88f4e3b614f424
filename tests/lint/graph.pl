#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# graph.pl DIR: the call graph between the files DIR/*.c, and whether it
# has a cycle. A file calls another when it names (calls, or takes the
# address of) a function the other defines and does not make static;
# comments and strings are skipped, and so are struct members (s->dispatch
# is not dispatch()). Prints "caller -> callee: functions" per edge, then
# the files layer by layer, top (called by none) first. Exit 1 with the
# cycle when there is one. Functions are found by the house style: a
# definition's name starts its line.
use strict;
use warnings;

my $dir = shift or die "usage: graph.pl DIR\n";
my (%def, %src);
for my $f (sort glob "$dir/*.c") {
	open my $fh, '<', $f or die "$f: $!\n";
	my $t = do { local $/; <$fh> };
	close $fh;
	$t =~ s{("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|/\*.*?\*/|//[^\n]*}
	    {defined $1 ? '""' : ' '}gse;
	(my $b = $f) =~ s{.*/}{};
	$b =~ s/\.c$//;
	$src{$b} = $t;
	$def{$1} = $b while $t =~ /^([a-z_][a-z0-9_]*)\(/mg;
	while ($t =~ /^static\b[^;{]*?\b([a-z_][a-z0-9_]*)\(/mg) {
		delete $def{$1} if ($def{$1} // '') eq $b;
	}
}
my (%out, %fns);
for my $b (sort keys %src) {
	$out{$b} //= {};
	while ($src{$b} =~ /(?<![.>\w])([a-z_][a-z0-9_]*)\b/g) {
		my $d = $def{$1};
		next if !defined $d || $d eq $b;
		$out{$b}{$d} = 1;
		$fns{"$b $d"}{$1} = 1;
	}
}
for my $b (sort keys %out) {
	for my $d (sort keys %{$out{$b}}) {
		print "$b -> $d: ", join(', ', sort keys %{$fns{"$b $d"}}),
		    "\n";
	}
}

# A cycle: depth-first, a file met again while on the path.
my (%state, @path, $cycle);
sub visit {
	my ($n) = @_;
	$state{$n} = 1;
	push @path, $n;
	for my $d (sort keys %{$out{$n}}) {
		last if $cycle;
		if (($state{$d} // 0) == 1) {
			my @c = @path;
			shift @c while $c[0] ne $d;
			$cycle = join(' -> ', @c, $d);
		} elsif (!$state{$d}) {
			visit($d);
		}
	}
	pop @path;
	$state{$n} = 2;
}
for my $n (sort keys %out) {
	visit($n) if !$state{$n} && !$cycle;
}
if ($cycle) {
	print "cycle: $cycle\n";
	exit 1;
}
# Layers: a file sits below every file that calls it.
my %layer;
sub layer {
	my ($n) = @_;
	return $layer{$n} if defined $layer{$n};
	my $l = 0;
	for my $c (keys %out) {
		next if !$out{$c}{$n};
		my $lc = layer($c) + 1;
		$l = $lc if $lc > $l;
	}
	return $layer{$n} = $l;
}
layer($_) for keys %out;
my $max = 0;
$max < $_ and $max = $_ for values %layer;
for my $l (0 .. $max) {
	print "layer $l: ", join(' ', sort grep { $layer{$_} == $l }
	    keys %layer), "\n";
}
