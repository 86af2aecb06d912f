// SPDX-License-Identifier: GPL-2.0
/*
 * qp_trigger - crash triggers for the quiet-panic harness that LKDTM lacks.
 *
 * Loaded by the guest init as "insmod qp_trigger.ko trigger=NAME"; the
 * trigger fires from module init or shortly after it:
 *
 *   panic-all       every online CPU calls panic() at the same moment
 *                   (process context, released together from a barrier)
 *   panic-all-irq-pending
 *                   the same, each CPU with an interrupt pending: a self-IPI
 *                   raised with interrupts masked, as a race loser has when
 *                   the winner's stop IPI came before it stopped itself
 *   nmi-panic-all   an NMI IPI to every online CPU, itself last, whose
 *                   handler calls nmi_panic(); QEMU's "nmi" command cannot do
 *                   this, Linux masks LINT1 on all CPUs but the boot CPU.
 *                   x86 only: elsewhere loading fails with EOPNOTSUPP and a
 *                   "qp_trigger: nmi-panic-all: not on <machine>" line
 *   hardirq-panic   panic() from an hrtimer callback (hard interrupt)
 *   softirq-panic   panic() from a timer_list callback (softirq)
 *   hardirq-oops    a NULL dereference in an hrtimer callback: an oops in
 *                   interrupt context, which always panics
 *   irqoff-panic    every other CPU spins with interrupts off, then one
 *                   panics: the stop IPI cannot reach them, only an NMI can
 *
 * Every panic message starts with "qp_trigger:" so tests can find it in the
 * console, in crash's "sys" and in its "log".
 */
#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/panic.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/utsname.h>
#include <linux/version.h>
#include <linux/workqueue.h>
#ifdef CONFIG_X86
#include <asm/apic.h>
#include <asm/nmi.h>
#endif

static char *trigger = "";
module_param(trigger, charp, 0444);
MODULE_PARM_DESC(trigger, "what to do once loaded (see the file header)");

/* CPUs that reached the barrier, for the all-CPU triggers. */
static atomic_t arrived = ATOMIC_INIT(0);
static struct hrtimer irq_timer;
static struct timer_list softirq_timer;
/* The CPU that panics in irqoff-panic: the one that loaded the module. */
static unsigned int panicking_cpu;
static struct task_struct *threads[NR_CPUS];

/* Spin until every online CPU has arrived, so they all act together. */
static void wait_for_all_cpus(void)
{
	atomic_inc(&arrived);
	while (atomic_read(&arrived) < num_online_cpus())
		cpu_relax();
}

static int panic_all_thread(void *unused)
{
	wait_for_all_cpus();
	panic("qp_trigger: every CPU panics at once");
	return 0;
}

/* Raised on each CPU by panic-all-irq-pending and left pending. */
static DEFINE_PER_CPU(struct irq_work, pending_work);

static void pending_work_fn(struct irq_work *work)
{
}

/*
 * irq_work_queue() raises a self-IPI (arm64's IPI_IRQ_WORK, x86's
 * IRQ_WORK_VECTOR; a "hard" work does on PREEMPT_RT too) that stays
 * pending while interrupts are masked, and panic() keeps them masked: every
 * race loser stops itself with an interrupt pending, not only the one the
 * winner's stop IPI caught. Masked after the barrier, so that a CPU
 * waiting there still answers another's cross-call.
 */
static int panic_all_irq_pending_thread(void *unused)
{
	wait_for_all_cpus();
	local_irq_disable();
	irq_work_queue(this_cpu_ptr(&pending_work));
	panic("qp_trigger: every CPU panics at once, each with an interrupt pending");
	return 0;
}

static int irqoff_thread(void *cpu)
{
	local_irq_disable();
	wait_for_all_cpus();
	if ((long)cpu == panicking_cpu) {
		/* Let the others settle into their IRQs-off spin. */
		mdelay(100);
		panic("qp_trigger: panic while other CPUs spin with interrupts off");
	}
	for (;;)
		cpu_relax();
	return 0;
}

static void wake_threads(struct work_struct *unused)
{
	unsigned int cpu;

	for_each_online_cpu(cpu)
		wake_up_process(threads[cpu]);
}

static DECLARE_DELAYED_WORK(wake_work, wake_threads);

/*
 * Run @fn in a kthread bound to each online CPU. They start together,
 * 200 ms after module init: by then the loading task is back in user
 * space, which frees its CPU for that CPU's thread (with PREEMPT_NONE a
 * task spinning in the barrier could sit on a CPU whose thread never
 * runs), and the module loader has sent its last TLB-flush IPI (a CPU
 * spinning with IRQs off would never answer it).
 */
static int start_on_each_cpu(int (*fn)(void *), const char *name)
{
	unsigned int cpu;

	for_each_online_cpu(cpu) {
		threads[cpu] = kthread_create_on_cpu(fn, (void *)(long)cpu, cpu, name);
		if (IS_ERR(threads[cpu]))
			return PTR_ERR(threads[cpu]);
	}
	schedule_delayed_work(&wake_work, msecs_to_jiffies(200));
	return 0;
}

static int trigger_panic_all(void)
{
	return start_on_each_cpu(panic_all_thread, "qp_panic/%u");
}

static int trigger_panic_all_irq_pending(void)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		per_cpu(pending_work, cpu) = IRQ_WORK_INIT_HARD(pending_work_fn);
	return start_on_each_cpu(panic_all_irq_pending_thread, "qp_pending/%u");
}

static int trigger_irqoff_panic(void)
{
	panicking_cpu = raw_smp_processor_id();
	return start_on_each_cpu(irqoff_thread, "qp_irqoff/%u");
}

#ifdef CONFIG_X86
static atomic_t nmi_armed = ATOMIC_INIT(0);

static int qp_nmi_handler(unsigned int cmd, struct pt_regs *regs)
{
	if (!atomic_read(&nmi_armed))
		return NMI_DONE;
	nmi_panic(regs, "qp_trigger: NMI panic on every CPU");
	return NMI_HANDLED;
}

/* Of the apic static calls, modules may use send_IPI_mask and _self. */
static void send_nmi_to_mask(const struct cpumask *mask)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	__apic_send_IPI_mask(mask, NMI_VECTOR);
#else
	apic->send_IPI_mask(mask, NMI_VECTOR);
#endif
}

/*
 * The other CPUs first, this one last: in physical destination mode IPIs
 * to a mask go out one CPU at a time, and this CPU would take its own NMI
 * (and panic) before the rest were sent; those CPUs would then be stopped
 * by panic() like any others instead of being in NMI context. This CPU's
 * NMI goes to its APIC ID: the SDM does not allow NMI delivery with the
 * self shorthand, and x2APIC's SELF IPI register sends fixed vectors only.
 * Interrupts are off so that the REBOOT_VECTOR stop IPI of a CPU that
 * panicked first cannot come between the two. An NMI from it still can:
 * the crash shootdown (kdump loaded, or crash_kexec_post_notifiers), or the
 * stop NMI once the REBOOT_VECTOR has gone unanswered for a second.
 */
static void send_nmi_to_online_cpus(void)
{
	static struct cpumask others;	/* too big for the stack with NR_CPUS=8192 */
	unsigned long flags;
	int cpu;

	local_irq_save(flags);
	cpu = smp_processor_id();
	cpumask_andnot(&others, cpu_online_mask, cpumask_of(cpu));
	send_nmi_to_mask(&others);
	send_nmi_to_mask(cpumask_of(cpu));
	local_irq_restore(flags);
}

static int trigger_nmi_panic_all(void)
{
	int err = register_nmi_handler(NMI_LOCAL, qp_nmi_handler, 0, "qp_trigger");

	if (err)
		return err;
	atomic_set(&nmi_armed, 1);
	send_nmi_to_online_cpus();
	/* The NMI to this CPU has arrived by now; give the others time. */
	mdelay(5000);
	pr_err("qp_trigger: NMI panic did not happen\n");
	return -EIO;
}
#else
/*
 * An NMI IPI that runs a handler of ours is x86's alone (the APIC,
 * register_nmi_handler()). Fail when asked, saying why, so that the
 * harness can skip the scenario with that reason.
 */
static int trigger_nmi_panic_all(void)
{
	pr_err("qp_trigger: nmi-panic-all: not on %s (x86's NMI IPI only)\n",
	       init_utsname()->machine);
	return -EOPNOTSUPP;
}
#endif /* CONFIG_X86 */

static enum hrtimer_restart irq_panic_fn(struct hrtimer *t)
{
	panic("qp_trigger: panic in hard interrupt context");
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart irq_oops_fn(struct hrtimer *t)
{
	int *volatile nowhere = NULL;

	*nowhere = 1;
	return HRTIMER_NORESTART;
}

/* hrtimer_setup() replaced hrtimer_init() plus ->function in 6.13. */
static void irq_timer_setup(enum hrtimer_restart (*fn)(struct hrtimer *))
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
	hrtimer_setup(&irq_timer, fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
#else
	hrtimer_init(&irq_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	irq_timer.function = fn;
#endif
}

static int trigger_hrtimer(enum hrtimer_restart (*fn)(struct hrtimer *))
{
	irq_timer_setup(fn);
	hrtimer_start(&irq_timer, ms_to_ktime(10), HRTIMER_MODE_REL);
	return 0;
}

static void softirq_panic_fn(struct timer_list *t)
{
	panic("qp_trigger: panic in softirq context");
}

static int trigger_softirq_panic(void)
{
	timer_setup(&softirq_timer, softirq_panic_fn, 0);
	mod_timer(&softirq_timer, jiffies + 1);
	return 0;
}

static int trigger_hardirq_panic(void)
{
	return trigger_hrtimer(irq_panic_fn);
}

static int trigger_hardirq_oops(void)
{
	return trigger_hrtimer(irq_oops_fn);
}

static const struct {
	const char *name;
	int (*fire)(void);
} triggers[] = {
	{ "panic-all", trigger_panic_all },
	{ "panic-all-irq-pending", trigger_panic_all_irq_pending },
	{ "nmi-panic-all", trigger_nmi_panic_all },
	{ "hardirq-panic", trigger_hardirq_panic },
	{ "softirq-panic", trigger_softirq_panic },
	{ "hardirq-oops", trigger_hardirq_oops },
	{ "irqoff-panic", trigger_irqoff_panic },
};

/*
 * Give the console time to print what is pending before the trigger stops
 * CPUs: 7.3's 8250 is an nbcon console printed by a kthread, and a CPU
 * stopped in NMI context in the middle of a record keeps the console owned.
 * panic() takes it over at once only where the owner was outside an unsafe
 * section; otherwise only nbcon_atomic_flush_unsafe() does, which vpanic()
 * calls after the panic=N countdown and emergency_restart(). Measured on
 * 7.3.4 under TCG without this: in one of two NMI-panic-all runs with
 * panic=5 (a patched one; the other CPUs sit in nmi_panic_self_stop() until
 * the reboot on either kernel, so baseline can lose it the same way) no
 * line after the module's load message reached the console, not even
 * "Rebooting in 5 seconds". The guest init's kt.delay before insmod cannot
 * do this: what is pending is this module's own "firing" line. pr_flush()
 * would wait exactly as long as needed, but modules cannot call it.
 */
static void let_console_drain(void)
{
	msleep(200);
}

static int __init qp_trigger_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(triggers); i++) {
		if (!strcmp(trigger, triggers[i].name)) {
			pr_info("qp_trigger: firing %s\n", trigger);
			let_console_drain();
			return triggers[i].fire();
		}
	}
	pr_err("qp_trigger: unknown trigger '%s'\n", trigger);
	return -EINVAL;
}
module_init(qp_trigger_init);

MODULE_DESCRIPTION("Crash triggers for the quiet-panic test harness");
MODULE_LICENSE("GPL");
