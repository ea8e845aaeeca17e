from finaudit.cli import main

main()
