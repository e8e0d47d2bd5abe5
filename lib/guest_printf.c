// SPDX-License-Identifier: GPL-2.0-only
/*
 * A freestanding vsnprintf for guest code: %d %i %u %x %X %o %p %s %c %%, the flags '0', '-',
 * '#', a width, and the length modifiers hh h l ll z j t. Enough for assert values and
 * diagnostics; guest code has no libc to call.
 */
#include <stdbool.h>
#include <stdint.h>
#include "kvmcheck/guest.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	int width;
	bool zero_pad;
	bool left;
	bool alt;
	int lmod;	/* 0 int, 1 long, 2 long long */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, int n, char c)
{
	while (n-- > 0)
		put(o, c);
}

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
	int n = (int)guest_strlen(s);

	if (!sp->left)
		pad(o, sp->width - n, ' ');
	while (*s)
		put(o, *s++);
	if (sp->left)
		pad(o, sp->width - n, ' ');
}

static void put_num(struct out *o, const struct spec *sp, uint64_t v, unsigned int base,
		    bool neg, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, prefix = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		prefix = 1;
	else if (sp->alt && base == 16)
		prefix = 2;
	len = n + prefix;
	if (!sp->left && !sp->zero_pad)
		pad(o, sp->width - len, ' ');
	if (neg)
		put(o, '-');
	else if (prefix == 2) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if (!sp->left && sp->zero_pad)
		pad(o, sp->width - len, '0');
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, sp->width - len, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	*sp = (struct spec){ 0 };
	for (;; f++) {
		if (*f == '0')
			sp->zero_pad = true;
		else if (*f == '-')
			sp->left = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	for (;; f++) {
		if (*f == 'l')
			sp->lmod++;
		else if (*f == 'z' || *f == 'j' || *f == 't')
			sp->lmod = 2;
		else if (*f != 'h')
			break;
	}
	return f;
}

static uint64_t arg_unsigned(va_list *ap, int lmod)
{
	return lmod ? va_arg(*ap, unsigned long long) : va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int lmod)
{
	return lmod ? va_arg(*ap, long long) : va_arg(*ap, int);
}

static void convert(struct out *o, struct spec *sp, char conv, va_list *ap)
{
	int64_t sv;

	switch (conv) {
	case 'd':
	case 'i':
		sv = arg_signed(ap, sp->lmod);
		put_num(o, sp, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, sv < 0, false);
		break;
	case 'u':
		put_num(o, sp, arg_unsigned(ap, sp->lmod), 10, false, false);
		break;
	case 'x':
	case 'X':
		put_num(o, sp, arg_unsigned(ap, sp->lmod), 16, false, conv == 'X');
		break;
	case 'o':
		put_num(o, sp, arg_unsigned(ap, sp->lmod), 8, false, false);
		break;
	case 'p':
		sp->alt = true;
		put_num(o, sp, (uint64_t)(uintptr_t)va_arg(*ap, void *), 16, false, false);
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);

		put_str(o, sp, s ? s : "(null)");
		break;
	}
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	default:
		put(o, '%');
		if (conv)
			put(o, conv);
	}
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		struct spec sp;

		if (*fmt != '%' || fmt[1] == '%') {
			put(&o, *fmt);
			fmt += *fmt == '%' ? 2 : 1;
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp);
		convert(&o, &sp, *fmt, &aq);
		if (*fmt)
			fmt++;
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
