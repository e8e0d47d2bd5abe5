// SPDX-License-Identifier: GPL-2.0-only
/*
 * A test can leave processes behind that escaped its process group (setsid,
 * a daemonizing helper).  The runner is their subreaper, so they end up as
 * its children: kill them once no running test can own them.
 */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner.h"

/* A process re-parents its children again when it dies: catch a few levels. */
#define MAX_ROUNDS 16

void orphans_adopt(void)
{
	prctl(PR_SET_CHILD_SUBREAPER, 1);
}

static pid_t parent_of(const char *pid)
{
	char path[64], line[512], *close_paren;
	FILE *f;
	int ppid;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	close_paren = fgets(line, sizeof(line), f) ? strrchr(line, ')') : NULL;
	fclose(f);
	/* The command name may hold spaces and ')': parse after the last ')'. */
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

static bool owned_by_running(pid_t pid, const pid_t *groups, int n)
{
	pid_t pgid = getpgid(pid);

	for (int i = 0; i < n; i++)
		if (pid == groups[i] || pgid == groups[i])
			return true;
	return false;
}

static int kill_round(const pid_t *groups, int n)
{
	DIR *proc = opendir("/proc");
	struct dirent *d;
	pid_t me = getpid();
	int killed = 0;

	if (!proc)
		return 0;
	while ((d = readdir(proc))) {
		pid_t pid;

		if (!isdigit((unsigned char)d->d_name[0]) || parent_of(d->d_name) != me)
			continue;
		pid = atoi(d->d_name);
		if (owned_by_running(pid, groups, n))
			continue;
		if (getpgid(pid) == pid)
			kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		killed++;
	}
	closedir(proc);
	return killed;
}

/* groups: the process groups (= leader pids) of the tests still running. */
void orphans_kill(const pid_t *groups, int n)
{
	for (int round = 0; round < MAX_ROUNDS; round++)
		if (!kill_round(groups, n))
			return;
}
