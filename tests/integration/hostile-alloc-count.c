/* SPDX-License-Identifier: GPL-2.0-or-later */
/* LD_PRELOAD'ed into qgatrace by test-gmem-hostile (builds without
 * sanitizers): counts the heap blocks still allocated at exit and writes the
 * number to $HOSTILE_ALLOC_OUT. Two runs that differ only in how often an
 * input repeats something must leave the same number: a difference is a
 * leak per repetition. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* glibc's own allocator, under the names it exports for exactly this */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *p);

void *valloc(size_t size);
void *memalign(size_t align, size_t size);
void *pvalloc(size_t size);

static long hostile_live;

static void *
hostile_counted(void *p)
{
	if (p != NULL)
		__atomic_add_fetch(&hostile_live, 1, __ATOMIC_RELAXED);
	return p;
}

void *
malloc(size_t size)
{
	return hostile_counted(__libc_malloc(size));
}

void *
calloc(size_t n, size_t size)
{
	return hostile_counted(__libc_calloc(n, size));
}

void *
realloc(void *p, size_t size)
{
	void *q = __libc_realloc(p, size);

	if (p == NULL)
		return hostile_counted(q);
	if (size == 0 && q == NULL)
		__atomic_sub_fetch(&hostile_live, 1, __ATOMIC_RELAXED);
	return q;
}

void
free(void *p)
{
	if (p == NULL)
		return;
	__atomic_sub_fetch(&hostile_live, 1, __ATOMIC_RELAXED);
	__libc_free(p);
}

void *
memalign(size_t align, size_t size)
{
	return hostile_counted(__libc_memalign(align, size));
}

void *
aligned_alloc(size_t align, size_t size)
{
	return hostile_counted(__libc_memalign(align, size));
}

void *
valloc(size_t size)
{
	return hostile_counted(__libc_memalign((size_t)sysconf(_SC_PAGESIZE), size));
}

void *
pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return hostile_counted(__libc_memalign(page, (size + page - 1) & ~(page - 1)));
}

int
posix_memalign(void **out, size_t align, size_t size)
{
	void *p = __libc_memalign(align, size);

	if (p == NULL)
		return ENOMEM;
	*out = hostile_counted(p);
	return 0;
}

__attribute__((destructor)) static void
hostile_alloc_report(void)
{
	const char *path = getenv("HOSTILE_ALLOC_OUT");
	char text[32];
	int fd;
	int n;

	if (path == NULL)
		return;
	n = snprintf(text, sizeof(text), "%ld\n", __atomic_load_n(&hostile_live, __ATOMIC_RELAXED));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, text, (size_t)n) != n)
		n = 0;
	close(fd);
}
