package decrypt_test

import (
	"fmt"
	"log"
	"os"

	"github.com/kura-secrets/kura/pkg/decrypt"
	"github.com/kura-secrets/kura/pkg/format/dotenv"
	"github.com/kura-secrets/kura/pkg/tree"
)

func init() {
	// The examples decrypt with the repository's test key; a program
	// finds the user's keys the same way, from SOPS_AGE_KEY_FILE and the
	// other usual places.
	os.Setenv("SOPS_AGE_KEY_FILE", "../../testdata/keys/age1.txt")
}

func ExampleFile() {
	plain, err := decrypt.File("testdata/app.enc.yaml", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	// Output:
	// db:
	//     user: admin
	//     password: hunter2
}

func ExampleData() {
	data, err := os.ReadFile("testdata/app.enc.env")
	if err != nil {
		log.Fatal(err)
	}
	plain, err := decrypt.Data(data, "dotenv")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(plain))
	// Output:
	// API_TOKEN="t0k3n"
}

func ExampleTree() {
	data, err := os.ReadFile("testdata/app.enc.env")
	if err != nil {
		log.Fatal(err)
	}
	docs, err := decrypt.Tree(data, "dotenv")
	if err != nil {
		log.Fatal(err)
	}
	token, _ := tree.Get(docs[0], "API_TOKEN")
	fmt.Println(dotenv.Unquote(token.Str))
	// Output:
	// t0k3n
}
