package thirdprovider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/vctsio/vcts/harness/config"
	"github.com/vctsio/vcts/harness/results"
	"github.com/vctsio/vcts/harness/runner"
	"github.com/vctsio/vcts/internal/grpctest"
	"github.com/vctsio/vcts/internal/thirdprovider"
)

// Every combination of choices the contract leaves open passes every profile the provider
// offers. These are the combinations its author ran the suite with when looking for false
// failures (task delays shortened); each of them once failed or could have.
func TestThirdProviderPassesInEveryCombination(t *testing.T) {
	fast := "-min-delay 5ms -max-delay 30ms "
	for _, tc := range []struct {
		name    string
		flags   string
		edit    func(*config.File)
		skipped []string // profiles the provider does not offer
	}{
		{name: "defaults: vm-<uuid> ids, synchronous, full clones"},
		{name: "asynchronous, uuid ids, created On, inventory", flags: fast + "-async all -id uuid -power-on-create -preexisting 5 -snap-id uuid"},
		{name: "some calls async, empty TaskRef, sequence ids, linked clones", flags: fast + "-async create,power,snapcreate,clone -sync-ref empty -id seq -snap-id name -clones linked"},
		{name: "neither snapshots nor clones", flags: "-clones none -snapshots=false", skipped: []string{"snapshot", "clone"}},
		{name: "DNS names only", flags: "-names dns"},
		{name: "no memory snapshots, lenient snapshot delete", flags: "-mem-snapshots=false -snapdel-unknown-vm ok -empty-class default"},
		{name: "offline reconfigure powers the VM off", flags: "-reconf-offline -reconf-mode poweroff -power-on-create"},
		// A client stops the VM and asks again, as the suite does.
		{name: "offline reconfigure refused while the VM runs", flags: "-reconf-offline -reconf-mode reject -power-on-create"},
		{name: "tasks forgotten a second after they end", flags: fast + "-async all -task-ttl 1s"},
		{name: "the name is the id (libvirt)", flags: fast + "-id name -strict-ids -async delete,create"},
		{name: "odd inventory: suspended, unnamed, duplicate names", flags: "-preexisting-weird -preexisting 3"},
		{name: "arguments checked before Unimplemented", flags: "-clones none -validate-first", skipped: []string{"clone"}},
		{name: "desired state must list the disks", flags: "-desired-whole"},
		{name: "Proxmox: reused numeric ids, UPID tasks, VMs visible when created", flags: fast + "-async all -create-visible ondone -id pve -strict-ids -task-id upid -strict-task-ids",
			edit: func(f *config.File) {
				f.Provider.UnknownTaskID = "UPID:pve1:0000ABCD:0000ABCD:0000ABCD:qmstart:100:root@pam:"
			}},
		// The same without a configured unknown task id: the suite derives one from a UPID.
		{name: "Proxmox, unknown task id derived", flags: fast + "-async all -create-visible ondone -id pve -strict-ids -task-id upid -strict-task-ids"},
		// Strict task ids and no task ever handed out: no format to learn, malformed is honest.
		{name: "synchronous, strict task ids", flags: "-task-id upid -strict-task-ids"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := thirdprovider.New(strings.Fields(tc.flags))
			require.NoError(t, err)
			before, _ := p.Inventory()
			srv := grpc.NewServer()
			p.Register(srv)
			f := config.Default()
			f.Provider.Endpoint = grpctest.Serve(t, srv)
			f.Provider.Name = "thirdprovider"
			if tc.edit != nil {
				tc.edit(&f)
			}
			require.NoError(t, f.Finalize(""))
			res, err := runner.Run(context.Background(), runner.Options{Config: f})
			require.NoError(t, err)
			r := res.Report

			var failed []string
			for _, q := range r.Requirements {
				if q.Status != results.Passed && q.Status != results.Skipped {
					failed = append(failed, q.ID+" "+string(q.Status)+": "+q.Reason)
				}
			}
			assert.Empty(t, failed, "a correct provider failed")
			assert.Equal(t, results.VerdictPass, r.Verdict, "problems: %v", r.Problems)
			for _, prof := range r.Profiles {
				want := results.VerdictPass
				for _, s := range tc.skipped {
					if s == prof.Name {
						want = results.VerdictSkip
					}
				}
				assert.Equal(t, want, prof.Verdict, "profile %s: %s", prof.Name, prof.Reason)
			}
			after, deleted := p.Inventory()
			assert.Empty(t, deleted, "the suite deleted VMs it did not create")
			assert.Equal(t, before, after, "the suite left VMs behind (or removed some)")
		})
	}
}

func TestBadFlagsAreRefused(t *testing.T) {
	_, err := thirdprovider.New([]string{"-no-such-flag"})
	require.Error(t, err)
}
